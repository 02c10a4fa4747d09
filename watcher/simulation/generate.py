"""Simulated post streams for demos, tests and backtests: everyday chatter plus one campaign.

A stream is about three days of event time in the posts NDJSON format (`watcher.post`):
off-topic chatter that matches no playbook, a thin day/night trickle of on-topic posts for
every example playbook in `playbooks/`, the organisations' own posts with supporters'
reshares, and, in campaign scenarios, one leaderless surge shaped like the October 2009
Trafigura super-injunction burst (detection-methods §5.2): a few posts, a ramp over tens of
minutes carried by hundreds of new authors, heavy resharing of a few influential accounts, a
new hashtag the playbook does not list, then a decline. Campaign posts carry
`"label": <scenario>` so a backtest can time its alerts from the onset.

The texts and campaign shapes are `watcher.simulation.corpus`; this module generates the
streams from them, with each issue's labelled ecosystem of accounts
(`watcher.simulation.ecosystem`) and the weeks of lead-in before the stream in which their
standing builds up. Long because the everyday stream and the campaign crowd share its
generators, helpers and constants: split, each half would import the other. Everything is
driven by seeded `random.Random`s and a fixed start, so the same scenario, seed and start
always give the same posts, byte for byte. `Stream`, `Crowd` and `arrivals` are public for
the scenario suite (`watcher.simulation.suite`).
"""

from __future__ import annotations

import bisect
import math
import random
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from watcher.simulation import ecosystem
from watcher.simulation.corpus import (
    CHATTER,
    CHATTER_TAGS,
    COLLISIONS,
    DOING,
    INFLUENCERS,
    SCENARIOS,
    THING,
    TOPICS,
    WHEN,
    Campaign,
    Topic,
)
from watcher.simulation.ecosystem import LEAD_IN_DAYS

#: Saturday 10 October 2009: day 3 is Monday 12 October, the night of the Trafigura surge.
DEFAULT_START = datetime(2009, 10, 10, tzinfo=UTC)
POPULATION = 4000  # everyday authors; who posts is Zipf-distributed over them
OFF_TOPIC_PER_DAY = 15_000
ON_TOPIC_PER_DAY = 240  # per playbook: a few posts an hour, more by day than by night
MAX_CAMPAIGN_POSTS = 3  # per campaign author: a crowd, not a few loud accounts

_TAG = re.compile(r"#(\w+)")
_TID = "234567abcdefghijklmnopqrstuvwxyz"  # Bluesky's base32-sortable alphabet
_INSTANCES = ("mastodon.example",) * 5 + ("social.example", "fedi.example")


def activity(hour: float) -> float:
    """How busy the feeds are at an hour of the UTC day: a midday and an evening peak."""

    def bump(centre: float, width: float) -> float:
        distance = (hour - centre + 12) % 24 - 12
        return math.exp(-0.5 * (distance / width) ** 2)

    return 0.1 + 0.5 * bump(12.5, 3.5) + 0.6 * bump(20.5, 2.5)


_DAY = [activity(minute / 60) for minute in range(1440)]
MEAN_ACTIVITY, PEAK_ACTIVITY = sum(_DAY) / len(_DAY), max(_DAY)


def arrivals(
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


def author_handle(n: int) -> str:
    """Handle of simulated person `n`: three in ten on Bluesky, the rest on three instances."""
    if n % 10 < 3:
        return f"user{n}.bsky.example"
    return f"user{n}@{_INSTANCES[n % 10 - 3]}"


class Stream:
    """Collects posts from every component of one stream, then yields them in time order."""

    def __init__(self, seed: int, start: datetime, hours: float) -> None:
        self.seed, self.t0, self.end = seed, start.timestamp(), hours * 3600
        self.posts: list[tuple[int, int, dict[str, Any]]] = []
        self.used: set[int] = set()
        self.followers: dict[str, int] = dict(INFLUENCERS)
        self.zipf_cum = list(accumulate(1 / k**1.05 for k in range(1, POPULATION + 1)))

    def rng(self, part: str) -> random.Random:
        # One generator per component, so adding a campaign leaves the baseline unchanged.
        return random.Random(f"{self.seed}:{part}")

    def person(self, rng: random.Random, ranks: list[int]) -> str:
        """A Zipf-distributed everyday author; `ranks` says who is busiest on this topic."""
        index = bisect.bisect(self.zipf_cum, rng.random() * self.zipf_cum[-1])
        return author_handle(1000 + ranks[min(index, POPULATION - 1)])

    def everyday_rate(self, per_day: float) -> tuple[Callable[[float], float], float]:
        scale = per_day / 86400 / MEAN_ACTIVITY

        def rate(t: float) -> float:
            moment = self.t0 + t
            weekend = 0.85 if (int(moment // 86400) + 3) % 7 >= 5 else 1.0
            return scale * weekend * activity(moment % 86400 / 3600)

        return rate, scale * PEAK_ACTIVITY

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
        for t in arrivals(rng, rate, bound, 0, self.end):
            if rng.random() < 0.003:
                text = rng.choice(COLLISIONS)
            else:
                text = rng.choice(CHATTER).format(
                    doing=rng.choice(DOING), thing=rng.choice(THING), when=rng.choice(WHEN)
                )
                if rng.random() < 0.3:
                    text += " " + rng.choice(CHATTER_TAGS)
            self.add(t, self.person(rng, ranks), text)

    def on_topic(self, name: str, topic: Topic, lead_in: bool = False) -> None:
        """The issue's everyday trickle, and the organisation's own posts with their reshares:
        over the stream, or (`lead_in`) over the `LEAD_IN_DAYS` before it, from a generator
        of its own so the stream's posts stay as they were."""
        rng = self.rng(f"lead-in:{name}" if lead_in else name)
        lo, hi = (-LEAD_IN_DAYS * 86400.0, 0.0) if lead_in else (0.0, self.end)
        ranks = list(range(POPULATION))
        rng.shuffle(ranks)  # the busiest people on an issue are not the busiest overall
        for account in topic.own_accounts:
            self.followers.setdefault(account, rng.randint(3000, 20000))
        rate, bound = self.everyday_rate(ON_TOPIC_PER_DAY)
        for t in arrivals(rng, rate, bound, lo, hi):
            text = rng.choice(topic.lines)
            if rng.random() < 0.4:
                text += " " + rng.choice(topic.tags)
            self.add(t, self.person(rng, ranks), text)
        midnight = -(self.t0 % 86400)  # own posts go out in office hours, UTC
        for day in range(math.floor(lo / 86400), math.ceil(hi / 86400) + 1):
            for _ in range(rng.randint(2, 4)):
                t = midnight + day * 86400 + rng.uniform(8, 19) * 3600
                if not lo <= t < hi:
                    continue
                text = rng.choice(topic.own_lines)
                own = self.add(t, rng.choice(topic.own_accounts), text)
                for _ in range(rng.randint(2, 10)):
                    later = t + rng.expovariate(1 / 2400)
                    if later < hi:
                        self.add(later, self.person(rng, ranks), text, reshare_of=own)

    def issues(self, campaign: Campaign | None = None) -> None:
        """Every issue's everyday talk, its weeks of lead-in and its ecosystem's record (up
        to the campaign's onset in the campaign's issue)."""
        for name, topic in TOPICS.items():
            self.on_topic(name, topic)
            onset = campaign.onset_hours * 3600 if campaign and campaign.playbook == name else None
            ecosystem.history(self, name, onset)
            self.on_topic(name, topic, lead_in=True)

    def ordered(self) -> Iterator[dict[str, Any]]:
        # Same millisecond: creation order, so a reshare never precedes its original.
        self.posts.sort(key=lambda entry: (entry[0], entry[1]))
        for _, _, post in self.posts:
            yield post


class Crowd:
    """One injected campaign: the people carrying it and what they have posted so far.

    Every post it adds carries `label`.
    """

    def __init__(self, sim: Stream, campaign: Campaign, label: str) -> None:
        self.sim, self.c, self.label = sim, campaign, label
        # the issue's ecosystem joins early, from its own generators
        self.scheduled = ecosystem.surge_posts(sim, campaign)
        self.rng = sim.rng(f"campaign:{label}")
        self.onset = campaign.onset_hours * 3600
        self.ranks = list(range(POPULATION))
        self.rng.shuffle(self.ranks)
        self.next_new = 1000 + POPULATION  # people who never posted on the issue before
        self.counts: dict[str, int] = {}
        self.repeaters: list[str] = []  # campaign authors, who may post again
        self.quota = {handle: MAX_CAMPAIGN_POSTS for handle, _ in INFLUENCERS}
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
        first, _ = INFLUENCERS[0]
        self.quota[first] -= 1
        self.original(self.onset, first)
        bound = sum(wave.per_minute for wave in self.c.waves) / 60
        for t in arrivals(self.rng, self.rate, bound, self.onset + 1, self.sim.end):
            self.post_scheduled(t)
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
        self.post_scheduled(self.sim.end)
        ecosystem.requests(self.sim, self.c, self.label, self.rate)

    def post_scheduled(self, until: float) -> None:
        while self.scheduled and self.scheduled[0][0] < until:
            t, author, text, virality, extra = self.scheduled.pop(0)
            self.original(t, author, text, virality, **extra)

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
            author, self.next_new = author_handle(self.next_new), self.next_new + 1
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

    def original(
        self, t: float, author: str, text: str = "", virality: float = 1.0, **extra: str
    ) -> None:
        if not text:
            late = t - self.onset >= self.c.late_hours * 3600
            text = self.rng.choice(self.c.late_lines if late else self.c.lines)
        post_id = self.add(t, author, text, **extra)
        self.times.append(t)
        self.ids.append((post_id, author, text))
        reach = virality * self.sim.followers[author] ** 0.7
        self.appeal.append((self.appeal[-1] if self.appeal else 0.0) + reach)
        ecosystem.followers_reshare(self.sim, t, author, post_id, text, self.label)

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
    sim = Stream(seed, start, spec.hours)
    sim.everyday()
    sim.issues(spec.campaign)
    if spec.campaign is not None:
        Crowd(sim, spec.campaign, spec.name).run()
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
