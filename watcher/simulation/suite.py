"""The detection scenario suite: leaderless surges of every size, speed and hour, and decoys.

Each suite entry is a named stream built on `watcher.simulation.generate`'s everyday traffic
(three days, so baselines are warm, or a week of nothing special) plus one injected event:

* `surge-*`: a leaderless crowd in one playbook's issue area, shaped like the Trafigura
  surge but of a given size (peak posts a minute), speed (rise time) and hour of onset.
  Its waves are placed so that at the onset the crowd already posts about as fast as the
  everyday trickle: the onset is when the surge starts to show, not a lone first post.
* `decoy-*`: what must not page: one loud account, a handful of accounts, a ring of
  fifteen accounts (none above the top-author-share gate), the
  organisation's own campaign (its posts, reshares of them and of those reshares, links to
  its domain), slow growth over days, a crowd whose posts all carry an `exclude` term, and
  a crowd in an unrelated topic.
* `week-quiet`: seven days of normal traffic.

Every injected post carries `"label": <scenario>`, so a backtest can time alerts from the
first one. `SUITE` describes each entry; `generate_suite` yields its posts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from watcher.simulation.corpus import SCENARIOS, TOPICS, Campaign, Wave
from watcher.simulation.generate import (
    ON_TOPIC_PER_DAY,
    POPULATION,
    Crowd,
    Stream,
    arrivals,
    author_handle,
    write_posts,
)

Kind = Literal["surge", "decoy", "normal"]
#: Suite streams start on a Monday, so day 2 is a Wednesday and weekends are in `week-quiet`.
SUITE_START = datetime(2009, 10, 5, tzinfo=UTC)
_CAMPAIGN_OF = {
    "toxic-waste": "trafigura",
    "river-sewage": "sewage",
    "housing-evictions": "evictions",
}


@dataclass(frozen=True, slots=True)
class SuiteCase:
    """One stream of the suite and what it is meant to show."""

    name: str
    kind: Kind
    playbook: str
    hours: float
    onset_hours: float = 0.0
    per_minute: float = 0.0  # surge peak, or decoy rate
    rise_minutes: float = 10.0
    accounts: int = 1  # decoy floods: how many accounts carry them


def _surge(name: str, playbook: str, day_hour: float, per_minute: float, rise: float) -> SuiteCase:
    return SuiteCase(name, "surge", playbook, 56 + day_hour, 48 + day_hour, per_minute, rise)


SUITE: dict[str, SuiteCase] = {
    case.name: case
    for case in (
        _surge("surge-small-fast-evening", "toxic-waste", 20.5, 1.5, 5),
        _surge("surge-small-slow-night", "river-sewage", 3.0, 1.5, 30),
        _surge("surge-medium-fast-morning", "housing-evictions", 7.25, 5, 5),
        _surge("surge-medium-slow-midday", "toxic-waste", 12.5, 5, 30),
        _surge("surge-large-fast-midday", "river-sewage", 12.0, 20, 5),
        _surge("surge-large-slow-evening", "housing-evictions", 19.0, 20, 45),
        _surge("surge-medium-medium-night", "toxic-waste", 1.5, 5, 15),
        _surge("surge-large-medium-afternoon", "toxic-waste", 15.0, 12, 15),
        SuiteCase("decoy-one-account", "decoy", "toxic-waste", 60, 48 + 14, 4.0, 120, 1),
        SuiteCase("decoy-few-accounts", "decoy", "river-sewage", 60, 48 + 20, 8.0, 120, 4),
        SuiteCase("decoy-bot-ring", "decoy", "toxic-waste", 60, 48 + 15, 6.0, 120, 15),
        SuiteCase("decoy-own-campaign", "decoy", "housing-evictions", 60, 48 + 11, 10.0, 60),
        SuiteCase("decoy-slow-growth", "decoy", "river-sewage", 96, 0.0, 0.0, 0),
        SuiteCase("decoy-excluded", "decoy", "toxic-waste", 60, 48 + 19, 8.0, 60),
        SuiteCase("decoy-unrelated", "decoy", "", 60, 48 + 13, 15.0, 60),
        SuiteCase("week-quiet", "normal", "", 24 * 7),
    )
}


def campaign_of(case: SuiteCase) -> Campaign | None:
    """A surge case's campaign: the playbook's story crowd with this case's size and speed."""
    if case.kind != "surge":
        return None
    template = SCENARIOS[_CAMPAIGN_OF[case.playbook]].campaign
    assert template is not None
    lead = 2 * case.rise_minutes / 60  # onset at ~e⁻² of the peak rate: about the baseline
    wave = Wave(lead, case.per_minute, case.rise_minutes, 6 * case.rise_minutes + 60)
    return dataclasses.replace(
        template, onset_hours=case.onset_hours, waves=(wave,), late_hours=case.hours
    )


def _flood(sim: Stream, case: SuiteCase) -> None:
    """One or a few accounts posting the issue's lines, fast, for `rise_minutes`."""
    rng = sim.rng(case.name)
    topic = TOPICS[case.playbook]
    start, end = case.onset_hours * 3600, case.onset_hours * 3600 + case.rise_minutes * 60
    bots = [f"loud{n}@mastodon.example" for n in range(case.accounts)]
    for t in arrivals(rng, lambda _: case.per_minute / 60, case.per_minute / 60, start, end):
        sim.add(t, rng.choice(bots), rng.choice(topic.lines), label=case.name)


def _own_campaign(sim: Stream, case: SuiteCase) -> None:
    """The organisation's push: own posts, crowds resharing them and each other, own links."""
    rng = sim.rng(case.name)
    topic = TOPICS[case.playbook]
    start = case.onset_hours * 3600
    domain = topic.own_lines[0].split("https://")[1].split("/")[0]
    shared: list[tuple[float, str]] = []  # (time, id): only what exists can be reshared
    for k in range(6):
        text = f"Our day of action on mass evictions starts now, join us #endsection21 ({k})"
        own = sim.add(start + k * 600, topic.own_accounts[k % 2], text, label=case.name)
        shared.append((start + k * 600, own))
    end = start + case.rise_minutes * 60
    for n, t in enumerate(
        arrivals(rng, lambda _: case.per_minute / 60, case.per_minute / 60, start + 60, end)
    ):
        author = author_handle(20_000 + n)
        roll = rng.random()
        if roll < 0.5:  # reshare an own post, or a reshare of one
            text = "Our day of action on mass evictions starts now, join us #endsection21"
            target = rng.choice([post_id for when, post_id in shared if when < t])
            shared.append((t, sim.add(t, author, text, reshare_of=target, label=case.name)))
        else:  # supporters posting the organisation's link in their own words
            text = f"Know your rights on eviction notice, from https://{domain}/guides"
            sim.add(t, author, text, label=case.name)


def _slow_growth(sim: Stream, case: SuiteCase) -> None:
    """Extra everyday-style talk whose rate grows ×1.6 a day: a topic warming up, not a surge."""
    rng = sim.rng(case.name)
    topic = TOPICS[case.playbook]
    ranks = list(range(POPULATION))
    rng.shuffle(ranks)
    rate, bound = sim.everyday_rate(ON_TOPIC_PER_DAY)
    growth = math.log(1.6) / 86400
    top = bound * math.exp(growth * sim.end)
    for t in arrivals(rng, lambda t: rate(t) * (math.exp(growth * t) - 1), top, 0, sim.end):
        sim.add(t, sim.person(rng, ranks), rng.choice(topic.lines), label=case.name)


def _excluded(sim: Stream, case: SuiteCase) -> None:
    """A real crowd, but every post carries the playbook's `exclude` term."""
    rng = sim.rng(case.name)
    start, end = case.onset_hours * 3600, case.onset_hours * 3600 + case.rise_minutes * 60
    for n, t in enumerate(arrivals(rng, lambda _: case.per_minute / 60, 1, start, end)):
        text = "Trying the Toxic Waste sour candy challenge, my face #tiktok"
        sim.add(t, author_handle(30_000 + n), text, label=case.name)


def _unrelated(sim: Stream, case: SuiteCase) -> None:
    """A crowd surge about something no playbook watches."""
    rng = sim.rng(case.name)
    start, end = case.onset_hours * 3600, case.onset_hours * 3600 + case.rise_minutes * 60
    for n, t in enumerate(arrivals(rng, lambda _: case.per_minute / 60, 1, start, end)):
        text = f"The cup final went to penalties and I can't breathe #football {n % 7}"
        sim.add(t, author_handle(40_000 + n), text, label=case.name)


_INJECT = {
    "decoy-one-account": _flood,
    "decoy-few-accounts": _flood,
    "decoy-bot-ring": _flood,
    "decoy-own-campaign": _own_campaign,
    "decoy-slow-growth": _slow_growth,
    "decoy-excluded": _excluded,
    "decoy-unrelated": _unrelated,
}


def generate_suite(name: str, *, seed: int = 0) -> Iterator[dict[str, Any]]:
    """The suite stream's posts as posts-NDJSON dicts, in `created_at` order.

    >>> sum(1 for p in generate_suite("decoy-one-account") if p.get("label")) > 300
    True
    """
    case = SUITE.get(name)
    if case is None:
        raise ValueError(f"unknown suite scenario {name!r}: choose from {', '.join(SUITE)}")
    sim = Stream(seed, SUITE_START, case.hours)
    sim.everyday()
    campaign = campaign_of(case)
    sim.issues(campaign)
    if campaign is not None:
        Crowd(sim, campaign, case.name).run()
    elif case.name in _INJECT:
        _INJECT[case.name](sim, case)
    return sim.ordered()


def write_suite(name: str, out: Path, *, seed: int = 0) -> int:
    """Write the suite stream as posts NDJSON to `out`; return how many posts were written."""
    return write_posts(generate_suite(name, seed=seed), out)
