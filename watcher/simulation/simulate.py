"""Simulated post streams for demos, tests and backtests: everyday chatter plus one campaign.

A stream is about three days of event time in the posts NDJSON format (`watcher.post`):
off-topic chatter that matches no playbook, a thin day/night trickle of on-topic posts for
every example playbook in `playbooks/`, the organisations' own posts with supporters'
reshares, and, in campaign scenarios, one leaderless surge shaped like the October 2009
Trafigura super-injunction burst (detection-methods §5.2): a few posts, a ramp over tens of
minutes carried by hundreds of new authors, heavy resharing of a few influential accounts, a
new hashtag the playbook does not list, then a decline. Campaign posts carry
`"label": <scenario>` so a backtest can time its alerts from the onset.

The vocabulary is hard-coded (kept consistent with the example playbooks) so the module works
when installed without them. Everything is driven by seeded `random.Random`s and a fixed start.
"""

from __future__ import annotations

import bisect
import math
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

#: Saturday 10 October 2009: day 3 is Monday 12 October, the night of the Trafigura surge.
DEFAULT_START = datetime(2009, 10, 10, tzinfo=UTC)
POPULATION = 4000  # everyday authors; who posts is Zipf-distributed over them
OFF_TOPIC_PER_DAY = 15_000
ON_TOPIC_PER_DAY = 240  # per playbook: a few posts an hour, more by day than by night
MAX_CAMPAIGN_POSTS = 3  # per campaign author: a crowd, not a few loud accounts


@dataclass(frozen=True, slots=True)
class Topic:
    """One example playbook's everyday talk and its organisation's own posts."""

    lines: tuple[str, ...]
    tags: tuple[str, ...]
    own_accounts: tuple[str, ...]
    own_lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Wave:
    """A pulse of campaign posts: exponential rise to `per_minute` at `peak_hours`, then decay."""

    peak_hours: float  # after onset
    per_minute: float
    rise_minutes: float
    decay_minutes: float


@dataclass(frozen=True, slots=True)
class Campaign:
    """A spontaneous campaign in one playbook's issue area."""

    playbook: str
    onset_hours: float  # after the stream starts
    waves: tuple[Wave, ...]
    lines: tuple[str, ...]  # original posts; most mention playbook terms, some only the new tags
    late_lines: tuple[str, ...]  # originals once the outcome is known
    late_hours: float
    replies: tuple[str, ...]
    new_tags: tuple[str, ...]  # hashtags the surge brings that the playbook does not list


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named stream: how long it runs and the campaign (if any) injected into it."""

    name: str
    description: str
    hours: float
    campaign: Campaign | None = None


def _posts(block: str) -> tuple[str, ...]:
    """One post per line of `block`; a line indented deeper continues the post above it."""
    lines = [line for line in block.splitlines() if line.strip()]
    margin = min(len(line) - len(line.lstrip()) for line in lines)
    posts: list[str] = []
    for line in lines:
        if len(line) - len(line.lstrip()) > margin:
            posts[-1] += " " + line.strip()
        else:
            posts.append(line.strip())
    return tuple(posts)


# Everyday talk uses each playbook's terms; keep it in step with playbooks/*.yaml.
TOPICS: dict[str, Topic] = {
    "toxic-waste": Topic(
        lines=_posts("""
            New report on toxic waste shipments to West African ports is grim reading.
            Still no clean-up at Akouédo, years after the toxic dumping.
            Hazardous waste export rules have more holes than a sieve.
            Good thread on how the Basel Convention actually works.
            Another illegal dumping case in the news today. Who pays?
            Does anyone track waste shipment permits? Asking for a project.
            Reading about the Probo Koala again. How was nobody jailed?
            Toxic sludge found behind a primary school and the council is 'monitoring'.
            Interesting piece on when a gagging order can be challenged.
            Waste dumping on poor communities is an environmental justice issue.
        """),
        tags=("#wastejustice", "#toxictrade", "#envjustice"),
        own_accounts=("cleancoasts@mastodon.example", "cleancoasts.bsky.example"),
        own_lines=_posts("""
            New: our briefing for MPs on Basel Convention loopholes
                https://cleancoasts.example/briefings/basel-loopholes
            Toxic waste exports: write to your MP in five minutes
                https://cleancoasts.example/act/write-to-your-mp #toxictrade
            Hazardous waste came to Abidjan in 2006. Read the survivors' stories
                https://cleancoasts.example/stories/abidjan-2006 #wastejustice
        """),
    ),
    "river-sewage": Topic(
        lines=_posts("""
            Raw sewage in the river again after last night's rain. Lovely.
            The storm overflow by the footbridge has been running all day.
            Checked the bathing water results before my swim. Amber again.
            Another sewage spill alert on the app this morning.
            Ofwat fines are a rounding error to these companies.
            Why is dumping untreated sewage legal on a dry day?
            Took the kids to the polluted river for a science project. They were appalled.
            River pollution data for our valley is finally public.
            Combined sewer overflow explained in one diagram, worth a share.
        """),
        tags=("#sewagescandal", "#cleanrivers", "#wildswimming"),
        own_accounts=("clearwater@mastodon.example", "clearwater.bsky.example"),
        own_lines=_posts("""
            Find every storm overflow near you on our map https://clearwaterrivers.example/map
            Dry-day spills: raw sewage released when it wasn't raining
                https://clearwaterrivers.example/reports/dry-day-spills #cleanrivers
            Citizen science on river pollution: borrow a kit
                https://clearwaterrivers.example/act/test-your-river
        """),
    ),
    "housing-evictions": Topic(
        lines=_posts("""
            Got a section 21 this morning after asking about the damp. Great.
            Rent hikes again. Third year in a row.
            Our landlord calls it a 'refurb'. We call it a revenge eviction.
            Bailiffs were on our street today. Awful to watch.
            Renters rights bill when?
            The housing crisis is a policy choice.
            Does a no-fault eviction notice need a gas certificate attached?
            Rogue landlord fined, tenants still waiting for repairs.
            Talk of a rent strike in our building. Anyone done one?
            The eviction ban ended and the notices started the next week.
        """),
        tags=("#endsection21", "#cancelrent", "#homesnotprofit", "#renters"),
        own_accounts=("fairhomes@mastodon.example", "fairhomes.bsky.example"),
        own_lines=_posts("""
            Got an eviction notice? Know your rights https://fairhomes.example/guides/eviction-notice
            Sign to end no-fault eviction https://fairhomes.example/act/end-section-21 #endsection21
            Bailiffs at the door? Print our card https://fairhomes.example/guides/bailiffs
        """),
    ),
}

_CHATTER = _posts("""
    Anyone else {doing} {when}?
    Can't stop {doing} {when}, send help
    Just spent an hour {doing}. No regrets.
    Is it just me or is {thing} getting worse?
    Hot take: {thing} is overrated.
    Finally tried {thing}. Verdict: pretty good.
    Who else is obsessed with {thing} right now?
""")
_DOING = (
    "baking sourdough", "repotting the monstera", "watching the match", "doing the crossword",
    "reorganising the bookshelf", "learning Rust", "walking the dog in the rain",
    "fixing the bike", "watching that detective series", "knitting a scarf", "practising guitar",
)  # fmt: skip
_THING = (
    "the new bakery on the high street", "pumpkin spice everything", "the train timetable",
    "my neighbour's cat", "oat milk", "the autumn light", "the new phone update",
    "the office coffee", "vinyl", "the local football team", "dark mode",
)  # fmt: skip
_WHEN = ("tonight", "this morning", "this weekend", "on a Monday", "at lunch")
_CHATTER_TAGS = ("#caturday", "#coffee", "#photography", "#football", "#amwriting", "#knitting")
#: Everyday posts that use a playbook term but also one of its `exclude` terms.
_COLLISIONS = _posts("""
    Double eviction on Big Brother tonight, mass evictions, I can't cope #bbuk
    Tom Nook just sent me an eviction notice in Animal Crossing, rude
    Kids dared me to eat Toxic Waste sour candy. Never again.
    Spent all evening moving a sewage outfall in Cities: Skylines #citiesskylines
    Found a toxic waste barrel in Fallout 76 and immediately regretted it
""")
#: Accounts whose posts a surge reshares most: (handle, followers).
_INFLUENCERS = (
    ("nightdesk_nina@mastodon.example", 48_000), ("legal_eagle_rob.bsky.example", 21_000),
    ("westminster_watch@social.example", 12_500), ("greenreporter@mastodon.example", 8_200),
    ("freepress_jo.bsky.example", 5_400), ("localnews_sam@fedi.example", 2_900),
)  # fmt: skip

SCENARIOS: dict[str, Scenario] = {
    "trafigura": Scenario(
        "trafigura",
        "A super-injunction gags reporting of Parliament on toxic waste: ignition at 20:30 on "
        "day 3, an overnight lull, a larger morning wave, the gag lifted at 13:00 on day 4.",
        hours=90,
        campaign=Campaign(
            playbook="toxic-waste",
            onset_hours=68.5,
            waves=(Wave(1.25, 10, 15, 240), Wave(14, 30, 70, 120)),
            lines=_posts("""
                The Guardian is gagged from reporting a question asked in Parliament.
                    A gag order on Parliament itself? #trafigura
                A super-injunction stops a paper reporting what an MP asked in the Commons.
                    It's about toxic waste dumped in Abidjan. #trafigura #carterruck
                So we can't read about Parliament now? All over toxic waste dumping. #trafigura
                Carter-Ruck gag order: the MP's question is on the Parliament website anyway.
                    Read it, share it. #carterruck #freespeech
                Which company got a superinjunction and why can't the press say?
                    Toxic dumping, that's why. #trafigura
                Gagging order on reporting Parliament? Parliamentary privilege exists for a
                    reason. #trafigura #freespeech
                Did John Wilkes live in vain? Press gagged over hazardous waste. #freespeech
                Everyone post #trafigura. They can gag one paper, not all of us. #carterruck
                Streisand effect in 3, 2, 1... #trafigura #carterruck
            """),
            late_lines=_posts("""
                Carter-Ruck drops the gag order! The Guardian can report Parliament. #trafigura
                Super-injunction lifted after a night of posts. #trafigura #freespeech
                The gag is off. Now let's talk about the toxic waste. #trafigura
            """),
            late_hours=16.5,
            replies=_posts("""
                This is outrageous. Shared.
                How is a gag order on Parliament even legal?
                Boosting. Everyone needs to read the question.
                Just wrote to my MP about this super-injunction.
                The lawyers are about to learn about the Streisand effect.
            """),
            new_tags=("#trafigura", "#carterruck", "#freespeech"),
        ),
    ),
    "sewage": Scenario(
        "sewage",
        "A video of sewage pouring onto a beach full of swimmers spreads on a dry, sunny "
        "afternoon: onset 12:40 on day 3, one wave over the afternoon.",
        hours=72,
        campaign=Campaign(
            playbook="river-sewage",
            onset_hours=60 + 40 / 60,
            waves=(Wave(1.5, 16, 15, 110),),
            lines=_posts("""
                Raw sewage pouring onto the beach at Kestrel Bay while kids swim.
                    On a dry sunny day. #kestrelbay
                Watch this. That brown plume is a storm overflow discharging into the
                    bathing water at Kestrel Bay. #kestrelbay #northmoorwater
                Northmoor Water says it's 'within permit'. Untreated sewage next to a
                    children's swimming lesson. #northmoorwater
                How many times does Ofwat need to see videos like this? #kestrelbay
                Sewage spill at Kestrel Bay, no warning signs, families in the water.
                    #kestrelbay #sewagescandal
                It hasn't rained for a week. Why is the sewage outfall running? #northmoorwater
                My daughter swam there this morning. Furious. #kestrelbay
                Share the Kestrel Bay video until Northmoor Water answers. #northmoorwater
            """),
            late_lines=_posts("""
                Northmoor Water now 'investigating' the Kestrel Bay sewage discharge.
                    Not good enough. #kestrelbay
                Inspectors at Kestrel Bay after the raw sewage video. Keep sharing. #kestrelbay
            """),
            late_hours=4,
            replies=_posts("""
                Disgusting. Shared.
                Tagging my MP on this.
                We swim there every week. Never again until this is fixed.
                Reported it to the regulator too.
                Has anyone tested the bathing water today?
            """),
            new_tags=("#kestrelbay", "#northmoorwater"),
        ),
    ),
    "evictions": Scenario(
        "evictions",
        "Bailiffs clear a tower block at dawn and neighbours livestream it: onset 07:15 on "
        "day 3, while the everyday baseline is rising for the morning.",
        hours=72,
        campaign=Campaign(
            playbook="housing-evictions",
            onset_hours=55.25,
            waves=(Wave(1.25, 14, 15, 150),),
            lines=_posts("""
                Bailiffs at Hartley Towers at 6am, forty families put out.
                    Mass evictions in 2009. #hartleytowers
                Kids in school uniform on the pavement with bin bags. This is what mass
                    evictions look like. #hartleytowers #stopthebailiffs
                They got a no-fault eviction notice a month ago and now the bailiffs are
                    here. #hartleytowers
                Get down to Hartley Towers if you can. Neighbours are blocking the stairwell.
                    #stopthebailiffs
                The landlord wants the block empty to 'regenerate'. Section 21 for every flat.
                    #hartleytowers #endsection21
                The housing crisis in one photo from Hartley Towers this morning. #hartleytowers
                Renters rights mean nothing if bailiffs can clear a block before breakfast.
                    #stopthebailiffs
                Livestream from Hartley Towers, please share. #hartleytowers #stopthebailiffs
            """),
            late_lines=_posts("""
                Council says it will rehouse all the evicted tenants from Hartley Towers
                    tonight. Pressure works. #hartleytowers
                Bailiffs gone from Hartley Towers for today. Tenants meet at 7pm.
                    #stopthebailiffs
            """),
            late_hours=5,
            replies=_posts("""
                This is heartbreaking. Shared.
                On my way with a flask and a van.
                Who owns the block? Name them.
                Called the council, the line is jammed.
                Solidarity from the estate next door.
            """),
            new_tags=("#hartleytowers", "#stopthebailiffs"),
        ),
    ),
    "quiet": Scenario("quiet", "Three days of everyday chatter and no campaign.", hours=72),
}

_TAG = re.compile(r"#(\w+)")
_TID = "234567abcdefghijklmnopqrstuvwxyz"  # Bluesky's base32-sortable alphabet
_INSTANCES = ("mastodon.example",) * 5 + ("social.example", "fedi.example")


def _activity(hour: float) -> float:
    """How busy the feeds are at an hour of the UTC day: a midday and an evening peak."""

    def bump(centre: float, width: float) -> float:
        distance = (hour - centre + 12) % 24 - 12
        return math.exp(-0.5 * (distance / width) ** 2)

    return 0.1 + 0.5 * bump(12.5, 3.5) + 0.6 * bump(20.5, 2.5)


_DAY = [_activity(minute / 60) for minute in range(1440)]
_MEAN_ACTIVITY, _PEAK_ACTIVITY = sum(_DAY) / len(_DAY), max(_DAY)


def _arrivals(
    rng: random.Random, rate: Callable[[float], float], bound: float, lo: float, hi: float
) -> Iterator[float]:
    """Times in [lo, hi) of a Poisson process with per-second `rate` ≤ `bound`, by thinning."""
    t = lo
    while True:
        t += rng.expovariate(bound)
        if t >= hi:
            return
        if rng.random() * bound < rate(t):
            yield t


def _author(n: int) -> str:
    """Handle of simulated person `n`: three in ten on Bluesky, the rest on three instances."""
    if n % 10 < 3:
        return f"user{n}.bsky.example"
    return f"user{n}@{_INSTANCES[n % 10 - 3]}"


class _Sim:
    """Collects posts from every component of one stream, then yields them in time order."""

    def __init__(self, seed: int, start: datetime, hours: float) -> None:
        self.seed, self.t0, self.end = seed, start.timestamp(), hours * 3600
        self.posts: list[tuple[int, int, dict[str, Any]]] = []
        self.used: set[int] = set()
        self.followers: dict[str, int] = dict(_INFLUENCERS)
        self.zipf_cum = list(accumulate(1 / k**1.05 for k in range(1, POPULATION + 1)))

    def rng(self, part: str) -> random.Random:
        # One generator per component, so adding a campaign leaves the baseline unchanged.
        return random.Random(f"{self.seed}:{part}")

    def person(self, rng: random.Random, ranks: list[int]) -> str:
        """A Zipf-distributed everyday author; `ranks` says who is busiest on this topic."""
        index = bisect.bisect(self.zipf_cum, rng.random() * self.zipf_cum[-1])
        return _author(1000 + ranks[min(index, POPULATION - 1)])

    def everyday_rate(self, per_day: float) -> tuple[Callable[[float], float], float]:
        scale = per_day / 86400 / _MEAN_ACTIVITY

        def rate(t: float) -> float:
            moment = self.t0 + t
            weekend = 0.85 if (int(moment // 86400) + 3) % 7 >= 5 else 1.0
            return scale * weekend * _activity(moment % 86400 / 3600)

        return rate, scale * _PEAK_ACTIVITY

    def add(self, t: float, author: str, text: str, **extra: str) -> str:
        """Record one post at `t` seconds after the start; return its id."""
        ms = int((self.t0 + t) * 1000)
        n = (ms << 16) | (len(self.posts) & 0xFFFF)  # Mastodon-style snowflake
        while n in self.used:
            n += 1
        self.used.add(n)
        if author not in self.followers:
            self.followers[author] = min(int(self.rng(author).lognormvariate(5.0, 1.1)), 1500)
        if "@" in author:
            local, instance = author.split("@")
            post_id, source = str(n), "mastodon"
            url = f"https://{instance}/@{local}/{post_id}"
        else:
            post_id = "".join(_TID[(n >> shift) & 31] for shift in range(60, -1, -5))
            source, url = "bluesky", f"https://bsky.example/profile/{author}/post/{post_id}"
        stamp = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        post: dict[str, Any] = {
            "id": post_id,
            "author": author,
            "text": text,
            "created_at": f"{stamp}.{ms % 1000:03d}Z",
            "source": source,
            "url": url,
            "lang": "en",
            "author_followers": self.followers[author],
        }
        tags = list(dict.fromkeys(tag.lower() for tag in _TAG.findall(text)))
        if tags:
            post["hashtags"] = tags
        post.update(extra)
        self.posts.append((ms, len(self.posts), post))
        return post_id

    def everyday(self) -> None:
        """Off-topic chatter, plus a rare post that a playbook's `exclude` terms rule out."""
        rng, ranks = self.rng("chatter"), list(range(POPULATION))
        rate, bound = self.everyday_rate(OFF_TOPIC_PER_DAY)
        for t in _arrivals(rng, rate, bound, 0, self.end):
            if rng.random() < 0.003:
                text = rng.choice(_COLLISIONS)
            else:
                text = rng.choice(_CHATTER).format(
                    doing=rng.choice(_DOING), thing=rng.choice(_THING), when=rng.choice(_WHEN)
                )
                if rng.random() < 0.3:
                    text += " " + rng.choice(_CHATTER_TAGS)
            self.add(t, self.person(rng, ranks), text)

    def on_topic(self, name: str, topic: Topic) -> None:
        """The issue's everyday trickle, and the organisation's own posts with their reshares."""
        rng = self.rng(name)
        ranks = list(range(POPULATION))
        rng.shuffle(ranks)  # the busiest people on an issue are not the busiest overall
        self.followers.update((account, rng.randint(3000, 20000)) for account in topic.own_accounts)
        rate, bound = self.everyday_rate(ON_TOPIC_PER_DAY)
        for t in _arrivals(rng, rate, bound, 0, self.end):
            text = rng.choice(topic.lines)
            if rng.random() < 0.4:
                text += " " + rng.choice(topic.tags)
            self.add(t, self.person(rng, ranks), text)
        midnight = -(self.t0 % 86400)  # own posts go out in office hours, UTC
        for day in range(math.ceil(self.end / 86400) + 1):
            for _ in range(rng.randint(2, 4)):
                t = midnight + day * 86400 + rng.uniform(8, 19) * 3600
                if not 0 <= t < self.end:
                    continue
                text = rng.choice(topic.own_lines)
                own = self.add(t, rng.choice(topic.own_accounts), text)
                for _ in range(rng.randint(2, 10)):
                    later = t + rng.expovariate(1 / 2400)
                    if later < self.end:
                        self.add(later, self.person(rng, ranks), text, reshare_of=own)

    def ordered(self) -> Iterator[dict[str, Any]]:
        # Same millisecond: creation order, so a reshare never precedes its original.
        self.posts.sort(key=lambda entry: (entry[0], entry[1]))
        for _, _, post in self.posts:
            yield post


class _Crowd:
    """One injected campaign: the people carrying it and what they have posted so far.

    Every post it adds carries `label`.
    """

    def __init__(self, sim: _Sim, campaign: Campaign, label: str) -> None:
        self.sim, self.c, self.label = sim, campaign, label
        self.rng = sim.rng(f"campaign:{label}")
        self.onset = campaign.onset_hours * 3600
        self.ranks = list(range(POPULATION))
        self.rng.shuffle(self.ranks)
        self.next_new = 1000 + POPULATION  # people who never posted on the issue before
        self.counts: dict[str, int] = {}
        self.repeaters: list[str] = []  # campaign authors, who may post again
        self.quota = {handle: MAX_CAMPAIGN_POSTS for handle, _ in _INFLUENCERS}
        # Originals so far, with cumulative reshare appeal, so picking one is a bisection.
        self.times: list[float] = []
        self.ids: list[tuple[str, str, str]] = []  # (id, author, text)
        self.appeal: list[float] = []

    def rate(self, t: float) -> float:
        total = 0.0
        for wave in self.c.waves:
            lag = t - self.onset - wave.peak_hours * 3600
            scale = wave.rise_minutes if lag < 0 else -wave.decay_minutes
            total += wave.per_minute / 60 * math.exp(lag / (scale * 60))
        return total

    def run(self) -> None:
        # Ignition: a well-followed account breaks the story at the onset.
        first, _ = _INFLUENCERS[0]
        self.quota[first] -= 1
        self.original(self.onset, first)
        bound = sum(wave.per_minute for wave in self.c.waves) / 60
        for t in _arrivals(self.rng, self.rate, bound, self.onset + 1, self.sim.end):
            influencer = self.influencer()
            if influencer:
                self.original(t, influencer)
                continue
            author = self.author()
            # Resharing grows as the surge spreads: early posts are mostly first-hand.
            reshare = 0.2 + 0.35 * min(1.0, len(self.counts) / 1500)
            roll = self.rng.random()
            if roll < reshare:
                post_id, by, text = self.target(t)
                if self.rng.random() < 0.25:
                    text = f"RT @{by}: {text}"
                self.add(t, author, text, reshare_of=post_id)
            elif roll < reshare + 0.12:
                post_id, by, _ = self.target(t)
                text = f"@{by} {self.rng.choice(self.c.replies)}"
                if self.rng.random() < 0.5:
                    text += " " + self.rng.choice(self.c.new_tags)
                self.add(t, author, text, reply_to=post_id)
            else:
                self.original(t, author)

    def influencer(self) -> str | None:
        if self.rng.random() >= 0.004:
            return None
        ready = [handle for handle, left in self.quota.items() if left > 0]
        if not ready:
            return None
        handle = self.rng.choice(ready)
        self.quota[handle] -= 1
        return handle

    def author(self) -> str:
        """Mostly someone new to the issue; never anyone past MAX_CAMPAIGN_POSTS."""
        if self.repeaters and self.rng.random() < 0.25:
            author = self.rng.choice(self.repeaters)
        elif self.rng.random() < 0.12:
            author = self.sim.person(self.rng, self.ranks)  # regulars on the issue join in
        else:
            author = ""
        if not author or self.counts.get(author, 0) >= MAX_CAMPAIGN_POSTS:
            author, self.next_new = _author(self.next_new), self.next_new + 1
        if author not in self.counts:
            self.repeaters.append(author)
        self.counts[author] = self.counts.get(author, 0) + 1
        return author

    def target(self, t: float) -> tuple[str, str, str]:
        """An original from the last three hours, weighted by its author's reach."""
        lo = bisect.bisect_left(self.times, t - 3 * 3600)
        base = self.appeal[lo - 1] if lo else 0.0
        pick = base + self.rng.random() * (self.appeal[-1] - base)
        index = min(bisect.bisect(self.appeal, pick), len(self.appeal) - 1)
        return self.ids[index]

    def original(self, t: float, author: str) -> None:
        late = t - self.onset >= self.c.late_hours * 3600
        text = self.rng.choice(self.c.late_lines if late else self.c.lines)
        post_id = self.add(t, author, text)
        self.times.append(t)
        self.ids.append((post_id, author, text))
        reach = self.sim.followers[author] ** 0.7
        self.appeal.append((self.appeal[-1] if self.appeal else 0.0) + reach)

    def add(self, t: float, author: str, text: str, **extra: str) -> str:
        return self.sim.add(t, author, text, label=self.label, **extra)


def generate(
    scenario: str, *, seed: int = 0, start: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """The scenario's posts as posts-NDJSON dicts, in `created_at` order.

    Raises `ValueError` for an unknown scenario. `start` (UTC if naive) defaults to
    `DEFAULT_START`; the same scenario, seed and start always give the same posts.

    >>> posts = list(generate("sewage"))
    >>> sum(1 for p in posts if p.get("label") == "sewage") > 500
    True
    """
    spec = SCENARIOS.get(scenario)
    if spec is None:
        raise ValueError(f"unknown scenario {scenario!r}: choose from {', '.join(SCENARIOS)}")
    if start is None:
        start = DEFAULT_START
    elif start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    sim = _Sim(seed, start, spec.hours)
    sim.everyday()
    for name, topic in TOPICS.items():
        sim.on_topic(name, topic)
    if spec.campaign is not None:
        _Crowd(sim, spec.campaign, spec.name).run()
    return sim.ordered()


def write(scenario: str, out: Path, *, seed: int = 0) -> int:
    """Write the scenario as posts NDJSON to `out`; return how many posts were written."""
    return write_posts(generate(scenario, seed=seed), out)


def write_posts(posts: Iterable[dict[str, Any]], out: Path) -> int:
    """Write post dicts as posts NDJSON to `out`; return how many were written."""
    count = 0
    with out.open("wb") as stream:
        for post in posts:
            stream.write(orjson.dumps(post) + b"\n")
            count += 1
    return count
