"""What the simulated people say: each example playbook's everyday talk, the chatter that
matches no playbook, and the three story campaigns (`SCENARIOS`) with their texts and waves.

The vocabulary is hard-coded (kept consistent with the example playbooks) so the simulation
works when installed without them. The shapes that hold it (`Topic`, `Wave`, `Campaign`,
`Scenario`) are declared here too; `watcher.simulation.generate` turns them into streams.
Long because it is data, nearly all of it text.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    #: What people in the surge ask for: (post, need), the need as offer tags name it.
    requests: tuple[tuple[str, str], ...] = ()
    #: Ground truth for the brief: how useful each of the playbook's resources (by URL) is
    #: to this surge, 0-3, as a campaigner would judge it.
    relevance: tuple[tuple[str, int], ...] = ()


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

CHATTER = _posts("""
    Anyone else {doing} {when}?
    Can't stop {doing} {when}, send help
    Just spent an hour {doing}. No regrets.
    Is it just me or is {thing} getting worse?
    Hot take: {thing} is overrated.
    Finally tried {thing}. Verdict: pretty good.
    Who else is obsessed with {thing} right now?
""")
DOING = (
    "baking sourdough", "repotting the monstera", "watching the match", "doing the crossword",
    "reorganising the bookshelf", "learning Rust", "walking the dog in the rain",
    "fixing the bike", "watching that detective series", "knitting a scarf", "practising guitar",
)  # fmt: skip
THING = (
    "the new bakery on the high street", "pumpkin spice everything", "the train timetable",
    "my neighbour's cat", "oat milk", "the autumn light", "the new phone update",
    "the office coffee", "vinyl", "the local football team", "dark mode",
)  # fmt: skip
WHEN = ("tonight", "this morning", "this weekend", "on a Monday", "at lunch")
CHATTER_TAGS = ("#caturday", "#coffee", "#photography", "#football", "#amwriting", "#knitting")
#: Everyday posts that use a playbook term but also one of its `exclude` terms.
COLLISIONS = _posts("""
    Double eviction on Big Brother tonight, mass evictions, I can't cope #bbuk
    Tom Nook just sent me an eviction notice in Animal Crossing, rude
    Kids dared me to eat Toxic Waste sour candy. Never again.
    Spent all evening moving a sewage outfall in Cities: Skylines #citiesskylines
    Found a toxic waste barrel in Fallout 76 and immediately regretted it
""")
#: Accounts whose posts a surge reshares most: (handle, followers).
INFLUENCERS = (
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
            requests=(
                (
                    "Does anyone know a lawyer who can say if we can repost the gag order "
                    "question? #trafigura",
                    "legal",
                ),
                ("Is it legal to share the super-injunction story? Need a solicitor", "legal"),
                (
                    "Where can we meet in London to plan what to do about the toxic waste gag?",
                    "venue",
                ),
                ("Who do I contact to find out what the toxic dumping did in Abidjan?", "contact"),
                (
                    "What can we do beyond posting? Is there a petition on toxic waste exports?",
                    "action",
                ),
            ),
            relevance=(
                ("https://cleancoasts.example/explainers/super-injunctions", 3),
                ("https://cleancoasts.example/stories/abidjan-2006", 3),
                ("https://cleancoasts.example/reports/toxic-trade", 2),
                ("https://cleancoasts.example/act/write-to-your-mp", 2),
                ("https://cleancoasts.example/briefings/basel-loopholes", 1),
            ),
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
            requests=(
                (
                    "Who do I contact to report the raw sewage at Kestrel Bay? #kestrelbay",
                    "contact",
                ),
                (
                    "Does anyone know a lawyer? Northmoor Water can't keep dumping raw sewage",
                    "legal",
                ),
                ("Where can we meet to organise about the sewage spill? #kestrelbay", "venue"),
                ("How can I help test the bathing water at Kestrel Bay? #kestrelbay", "action"),
            ),
            relevance=(
                ("https://clearwaterrivers.example/reports/dry-day-spills", 3),
                ("https://clearwaterrivers.example/guides/bathing-water", 3),
                ("https://clearwaterrivers.example/explainers/regulators", 2),
                ("https://clearwaterrivers.example/map", 2),
                ("https://clearwaterrivers.example/act/test-your-river", 1),
            ),
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
            requests=(
                (
                    "Is a section 21 for every flat even legal? Anyone know a housing solicitor?",
                    "legal",
                ),
                (
                    "Who do we contact for the evicted tenants from Hartley Towers? #hartleytowers",
                    "contact",
                ),
                ("Need a room for the Hartley Towers evicted tenants to meet tonight", "venue"),
                ("How can I help stop the bailiffs at Hartley Towers? #stopthebailiffs", "action"),
            ),
            relevance=(
                ("https://fairhomes.example/guides/bailiffs", 3),
                ("https://fairhomes.example/guides/eviction-notice", 2),
                ("https://fairhomes.example/organise", 2),
                ("https://fairhomes.example/act/end-section-21", 2),
                ("https://fairhomes.example/reports/revenge-evictions", 1),
            ),
        ),
    ),
    "quiet": Scenario("quiet", "Three days of everyday chatter and no campaign.", hours=72),
}
