"""The accounts around each issue, with ground-truth labels: who may be named, who never.

A real issue has people with standing on it long before any surge: the journalist who broke
the story, NGOs, academics, local councillors, public bodies. They have many followers and
post on the topic now and then, week after week; in a surge some join early and are
reshared. Beside them are accounts a brief must never name: a private person with few
followers whom the surge is about (their video is what goes viral), a brand-new account with
bought followers, an account whose posts are mostly abuse, one that only reshares, and the
organisation's own accounts.

`members` builds one issue's ecosystem from the seed (the same seed, the same people);
`labels` gives each handle's ground truth (`voice` or `never`, and its role) for the brief
bench. `history` writes the ecosystem's topic posts from `LEAD_IN_DAYS` before the stream
starts (the stream adds the issue's everyday trickle over those weeks too), `surge_posts`
what its members post in a campaign, handed to the crowd to be reshared, and `requests` the
surge's posts asking for help, each marked with the need it asks for. Every part draws from
its own seeded generator, so adding the ecosystem leaves every other component's draws as
they were.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from watcher.simulation.corpus import INFLUENCERS, TOPICS, Campaign

if TYPE_CHECKING:  # the stream calls this module; its type is only for hints
    from watcher.simulation.generate import Stream

#: Days of event time before a stream starts in which the issue's record builds up.
LEAD_IN_DAYS = 28
#: Authoritative accounts generated per issue, beside the shared press accounts.
VOICES_PER_ISSUE = 24
#: A surge post by a well-followed account is reshared by about one follower per this many.
FOLLOWERS_PER_RESHARE = 8_000
#: Share of a surge's posts that ask for something.
REQUEST_SHARE = 0.04
POPULATION = 4000  # as `watcher.simulation.generate`'s everyday authors
Label = Literal["voice", "never"]
#: Role → (median followers, where the account lives).
ROLES = {
    "journalist": (20_000, "news.example"),
    "ngo": (35_000, "ngo.example"),
    "academic": (12_000, "scholar.example"),
    "councillor": (7_000, "council.example"),
    "public-body": (60_000, "gov.example"),
}
_SHORT = {"toxic-waste": "waste", "river-sewage": "rivers", "housing-evictions": "housing"}
_ABUSE = " The people behind this are scum, string them up."


@dataclass(frozen=True, slots=True)
class Member:
    """One account around an issue and what it does."""

    handle: str
    role: str
    label: Label
    followers: int
    every_days: float  # a post on the issue every so many days, on average (0: none)
    joins: bool = False  # posts in a surge, early
    virality: float = 1.0  # how much more its surge posts are picked up than its reach says
    created_days: float = 3000.0  # account made this many days before the surge's onset
    abusive: bool = False
    reshares_only: bool = False


def members(topic: str, seed: int) -> tuple[Member, ...]:
    """The issue's ecosystem: press, generated authorities, then the never-name accounts."""
    rng = random.Random(f"{seed}:ecosystem:{topic}")
    short = _SHORT.get(topic, topic)
    press = [
        Member(handle, "journalist", "voice", followers, rng.uniform(3, 7))
        for handle, followers in INFLUENCERS  # they post in surges through the crowd
    ]
    roles = list(ROLES)
    voices = []
    for n in range(VOICES_PER_ISSUE):
        role = roles[n % len(roles)]
        median, home = ROLES[role]
        followers = int(median * rng.lognormvariate(0, 0.6))
        handle = f"{role}{n}-{short}@{home}" if n % 3 else f"{role}{n}-{short}.bsky.example"
        voices.append(
            Member(handle, role, "voice", followers, rng.uniform(2, 8), joins=rng.random() < 0.4)
        )
    never = [
        # the person the surge is about: years on the issue, a few hundred followers
        Member(
            f"resident-{short}@mastodon.example",
            "subject",
            "never",
            rng.randint(80, 600),
            6.0,
            joins=True,
            virality=40.0,
        ),
        Member(
            f"breaking-{short}-now.bsky.example",
            "new account",
            "never",
            15_000,
            0.0,
            joins=True,
            virality=4.0,
            created_days=2.0,
        ),
        Member(
            f"angry-{short}@social.example",
            "abusive",
            "never",
            25_000,
            4.0,
            joins=True,
            virality=3.0,
            abusive=True,
        ),
        Member(
            f"amplify-{short}@social.example",
            "reshare-only",
            "never",
            30_000,
            3.0,
            joins=True,
            reshares_only=True,
        ),
    ]
    return (*press, *voices, *never)


def labels(topic: str, seed: int) -> dict[str, tuple[Label, str]]:
    """Handle → (label, role) for the issue's ecosystem and the organisation's own accounts."""
    out: dict[str, tuple[Label, str]] = {m.handle: (m.label, m.role) for m in members(topic, seed)}
    for own in TOPICS[topic].own_accounts:
        out[own] = ("never", "own account")
    return out


def history(sim: Stream, name: str, onset: float | None) -> None:
    """The ecosystem's posts on the issue from the lead-in to the end (to the onset in a
    campaign), each reshared by a few everyday people."""
    topic = TOPICS[name]
    start = -LEAD_IN_DAYS * 86400.0
    stop = sim.end if onset is None else onset - 3600
    ranks = list(range(POPULATION))
    seen: list[tuple[str, str]] = []  # voices' posts, for the reshare-only account
    for member in members(name, sim.seed):
        rng = sim.rng(f"ecosystem:{name}:{member.handle}")
        sim.followers[member.handle] = member.followers
        joined = (onset if onset is not None else sim.end) - member.created_days * 86400
        extra = {"author_created_at": _stamp(sim, joined)}
        if member.role == "new account":  # a couple of posts since it was made
            times = sorted(rng.uniform(max(start, joined), stop) for _ in range(2))
        else:
            times = _every(rng, member.every_days, max(start, joined), stop)
        for t in times:
            if member.reshares_only and seen:
                post_id, text = rng.choice(seen)
                sim.add(t, member.handle, text, reshare_of=post_id, **extra)
                continue
            text = rng.choice(topic.lines) + (_ABUSE if member.abusive else "")
            post_id = sim.add(t, member.handle, text, **extra)
            seen.append((post_id, text))
            for _ in range(rng.randint(0, 3)):
                later = t + rng.expovariate(1 / 3600)
                sim.add(later, sim.person(rng, ranks), text, reshare_of=post_id)


def _every(rng: random.Random, every_days: float, lo: float, hi: float) -> list[float]:
    """Poisson times in [lo, hi), one every `every_days` on average (none if 0)."""
    times: list[float] = []
    t = lo
    while every_days > 0:
        t += rng.expovariate(1 / (every_days * 86400))
        if t >= hi:
            break
        times.append(t)
    return times


def _stamp(sim: Stream, t: float) -> str:
    return datetime.fromtimestamp(sim.t0 + t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: What the crowd is handed to post and reshare: (time, author, text, virality, extra fields).
Scheduled = tuple[float, str, str, float, dict[str, str]]


def surge_posts(sim: Stream, campaign: Campaign) -> list[Scheduled]:
    """What the ecosystem posts in a campaign, early; the crowd reshares it by reach times
    virality."""
    name, onset = campaign.playbook, campaign.onset_hours * 3600
    out = []
    for member in members(name, sim.seed):
        if not member.joins or member.reshares_only:
            continue
        rng = sim.rng(f"ecosystem:{name}:{member.handle}:surge")
        extra = {"author_created_at": _stamp(sim, onset - member.created_days * 86400)}
        t = onset + rng.expovariate(1 / 900)  # most within a quarter of an hour
        for _ in range(rng.randint(1, 3)):
            text = rng.choice(campaign.lines) + (_ABUSE if member.abusive else "")
            out.append((t, member.handle, text, member.virality, extra))
            t += rng.expovariate(1 / 2400)
    return sorted(out, key=lambda s: (s[0], s[1]))


def requests(sim: Stream, campaign: Campaign, label: str, rate: Callable[[float], float]) -> None:
    """People in the surge asking for help (a lawyer, a room, a contact, a way to act): a
    small share of the crowd's rate, each post marked with the need it asks for (`asks`)."""
    if not campaign.requests:
        return
    rng = sim.rng(f"requests:{label}")
    onset = campaign.onset_hours * 3600
    bound = REQUEST_SHARE * sum(w.per_minute for w in campaign.waves) / 60
    t, n = onset, 0
    while bound > 0:  # a Poisson process thinned to REQUEST_SHARE of the crowd's rate
        t += rng.expovariate(bound)
        if t >= sim.end:
            return
        if rng.random() * bound < REQUEST_SHARE * rate(t):
            text, need = rng.choice(campaign.requests)
            sim.add(t, f"asker{n}@social.example", text, label=label, asks=need)
            n += 1


def followers_reshare(
    sim: Stream, t: float, author: str, post_id: str, text: str, label: str
) -> None:
    """A well-followed account's surge post is reshared by its own followers within the half
    hour, besides whatever the crowd does: how a voice is 'reshared by the surge' from the
    start. Its own generator per post, so the crowd's draws are untouched."""
    followers = sim.followers.get(author, 0)
    if followers < FOLLOWERS_PER_RESHARE:
        return
    rng = sim.rng(f"followers:{label}:{post_id}")
    for n in range(_poisson(rng, followers / FOLLOWERS_PER_RESHARE)):
        local = author.split("@")[0].split(".")[0]
        fan = f"{local}-follower{n}@{'mastodon.example' if n % 2 else 'social.example'}"
        sim.add(t + rng.expovariate(1 / 900), fan, text, reshare_of=post_id, label=label)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw by counting exponential gaps (means here are a few)."""
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count
