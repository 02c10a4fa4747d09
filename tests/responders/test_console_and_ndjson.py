from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import orjson

from responders.alert import Alert, SamplePost, Surge
from responders.brief.brief import build_brief
from responders.channels.console import ConsoleResponder, render
from responders.channels.ndjson import NdjsonResponder
from responders.params import Offer, Resource, RespondParams, Voice

NOW = datetime(2009, 10, 12, 21, 40, tzinfo=UTC)
SURGE = Surge(
    playbook="toxic-waste",
    campaign_id="toxic-waste-20091012-2120",
    kind="new",
    state="emerging",
    fired_at=NOW,
    onset=datetime(2009, 10, 12, 21, 20, tzinfo=UTC),
    terms=(("gag order", 17), ("toxic waste", 12)),
    posts=60,
    distinct_authors=55,
    top_author_share=0.03,
    rate=13.6,
    baseline=0.8,
    score=6.1,
    growth=3.0,
    bucket_minutes=5,
    emerging_terms=("carterruck",),
    surging_terms=("gag order",),
    sources=(("mastodon", NOW),),
    samples=(SamplePost("1", "ann@m.example", "Gagged!  #trafigura", "https://m.example/1", 40),),
)
RESPOND = RespondParams(
    resources=(
        Resource(title="Annual review", url="https://ngo.example/annual"),
        Resource(title="Gag orders, explained", url="https://ngo.example/gag", tags=("gag order",)),
    ),
    voices=(Voice(name="Media Law Clinic", handle="@clinic@law.example", why="free legal advice"),),
    offers=(Offer(title="Meeting room", detail="Seats 40", tags=("venue",)),),
)
ALERT = Alert(SURGE, build_brief(SURGE, RESPOND))


def test_brief_puts_resources_matching_the_surge_first_and_says_why() -> None:
    assert [(r.title, r.why) for r in ALERT.brief.resources] == [
        ("Gag orders, explained", "covers gag order"),
        ("Annual review", "ready to share on this issue"),
    ]
    assert ALERT.brief.voices[0].why == "in the playbook: free legal advice"
    assert ALERT.brief.offers[0].why == "for: venue"


def test_console_shows_facts_then_the_three_lists() -> None:
    text = render(ALERT)
    assert (
        text.splitlines()[0] == "▲ NEW CAMPAIGN: toxic-waste  [emerging]  toxic-waste-20091012-2120"
    )
    assert "60 posts from 55 people; top account 3% of posts" in text
    assert "emerging: carterruck" in text
    assert "surging: gag order" in text
    assert "· ann@m.example: Gagged! #trafigura https://m.example/1" in text
    order = [
        text.index(h)
        for h in ("Ready resources:", "Other authoritative voices:", "Offers of support:")
    ]
    assert order == sorted(order)
    assert "\033[" not in text


def test_updates_are_short_and_colour_only_on_request() -> None:
    update = Alert(replace(SURGE, kind="update", state="peaked"), ALERT.brief)
    text = render(update, colour=True)
    assert "CAMPAIGN UPDATE" in text
    assert "Ready resources" not in text
    assert "\033[1m" in text


async def test_console_responder_writes_to_its_stream() -> None:
    out = io.StringIO()
    delivery = await ConsoleResponder(out).send(ALERT)
    assert delivery.outcome == "sent"
    assert "NEW CAMPAIGN" in out.getvalue()


async def test_ndjson_line_has_the_contract_keys() -> None:
    out = io.BytesIO()
    await NdjsonResponder(out).send(ALERT)
    line = orjson.loads(out.getvalue())
    assert line["kind"] == "new"
    assert line["fired_at"] == "2009-10-12T21:40:00Z"
    assert line["terms"] == ["gag order", "toxic waste"]
    assert line["resources"][0] == {
        "title": "Gag orders, explained",
        "why": "covers gag order",
        "url": "https://ngo.example/gag",
    }
    for key in (
        "playbook",
        "campaign_id",
        "state",
        "posts",
        "distinct_authors",
        "voices",
        "offers",
    ):
        assert key in line
