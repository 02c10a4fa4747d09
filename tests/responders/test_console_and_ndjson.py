from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import orjson

from responders.alert import Alert, Brief, BriefItem, SamplePost, Surge
from responders.brief.brief import build_brief
from responders.brief.voices import FOUND
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
    # microseconds in the event times, a resource with a summary, a voice found in the surge
    surge = replace(SURGE, fired_at=NOW.replace(second=7, microsecond=123456))
    brief = replace(
        ALERT.brief,
        resources=(
            replace(ALERT.brief.resources[0], detail="What a super-injunction does and does not"),
            *ALERT.brief.resources[1:],
        ),
        voices=(
            *ALERT.brief.voices,
            BriefItem(
                "reporter@news.example",
                f"{FOUND}120 people reshared or replied to its posts; 52,000 followers",
                url="https://news.example/@reporter",
            ),
        ),
    )
    assert render(Alert(surge, brief)) == "\n".join(
        [
            "▲ NEW CAMPAIGN: toxic-waste  [emerging]  toxic-waste-20091012-2120",
            "  at 2009-10-12 21:40 UTC (onset ~2009-10-12 21:20 UTC)",
            "  60 posts from 55 people; top account 3% of posts",
            "  rate 13.6/5min vs baseline 0.8 (×17.0, significance 6.1, growth ×3.0)",
            "  terms: gag order (17), toxic waste (12)",
            "  surging: gag order",
            "  emerging: carterruck",
            "  sources: mastodon since 2009-10-12 21:40 UTC",
            "  · ann@m.example: Gagged! #trafigura https://m.example/1",
            "  Ready resources:",
            "    1. Gag orders, explained — What a super-injunction does and does not "
            "<https://ngo.example/gag> (covers gag order)",
            "    2. Annual review <https://ngo.example/annual> (ready to share on this issue)",
            "  Other authoritative voices:",
            "    in the playbook:",
            "      1. Media Law Clinic — @clinic@law.example (free legal advice)",
            "    found in the surge:",
            "      1. reporter@news.example <https://news.example/@reporter> (120 people "
            "reshared or replied to its posts; 52,000 followers)",
            "  Offers of support:",
            "    1. Meeting room — Seats 40 (for: venue)",
        ]
    )


def test_an_empty_brief_says_so_under_each_heading() -> None:
    text = render(Alert(SURGE, Brief()))
    assert text.split("  Ready resources:\n")[1] == (
        "    (none in the playbook)\n"
        "  Other authoritative voices:\n"
        "    (none in the playbook)\n"
        "  Offers of support:\n"
        "    (none in the playbook)"
    )


def test_updates_are_short_and_colour_only_on_request() -> None:
    update = Alert(replace(SURGE, kind="update", state="peaked"), ALERT.brief)
    text = render(update, colour=True)
    assert "CAMPAIGN UPDATE" in text
    assert "Ready resources" not in text
    assert "\033[1m" in text
    assert "\033[" not in render(update)


def test_an_update_without_author_data_claims_no_top_account_share() -> None:
    quiet = Alert(
        replace(SURGE, kind="update", state="subsiding", posts=0, distinct_authors=0,
                top_author_share=0.0),
        ALERT.brief,
    )  # fmt: skip
    assert render(quiet).splitlines()[2] == "  0 posts from 0 people"


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
