"""Slack delivery against a local fake of the Web API: blocks, escaping, threads, failures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from responders.delivery.dispatch import RetrySchedule
from responders.slack.blocks import check_limits
from tests.responders.conftest import HOSTILE, Clock, alert, delivery_for, with_respond
from tests.responders.fake_slack import FakeSlack

Server = tuple[FakeSlack, str]


async def test_new_alert_posts_block_kit_with_fallback_and_metadata(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    await delivery.aclose()
    [top] = fake.top_level("#alerts")
    assert top.text.startswith("Campaign on waste (emerging): 60 posts from 55 accounts")
    assert check_limits(top.blocks) == []
    kinds = [b["type"] for b in top.blocks]
    assert kinds[0] == "header"
    assert kinds[-1] == "actions"
    assert top.blocks[0]["text"] == {"type": "plain_text", "text": "▲ Campaign: waste"}
    text = json.dumps(top.blocks, ensure_ascii=False)
    for heading in ("Ready resources", "Other authoritative voices", "Offers of support"):
        assert heading in text
    assert "<https://ngo.example/gag|Gag orders, explained>" in text
    buttons = [e["text"]["text"] for e in top.blocks[-1]["elements"]]
    assert buttons == ["Acknowledge", "Snooze playbook 6h", "Not a campaign"]
    assert top.metadata is not None
    assert top.metadata["event_type"] == "groundswell_alert"
    [call] = fake.successful("chat.postMessage")
    assert call.body["unfurl_links"] is False


async def test_hostile_post_text_cannot_mention_or_disguise_links(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    await delivery.aclose()
    [top] = fake.top_level("#alerts")
    # Slack parses mrkdwn (and the fallback text); there, nothing hostile opens a sequence
    text = json.dumps(mrkdwn_texts(top.blocks), ensure_ascii=False) + top.text
    for injected in ("<!channel>", "<@U123>", "<@U999>", "<https://evil.example|your bank>"):
        assert injected not in text
    # every '<' left in the message opens a link we built ourselves, to the post's own host
    opened = [chunk.split("|")[0] for chunk in text.split("<")[1:]]
    assert opened == [
        "https://m.example/1",
        "https://ngo.example/gag",
        "https://ngo.example/annual",
    ]
    # the posts themselves are plain text without emoji: Slack shows them as written
    samples = [b["elements"] for b in top.blocks if b["type"] == "context"]
    assert samples == [
        [
            {"type": "plain_text", "text": "ann@m.example · reshared 40×: “Gagged! #trafigura”",
             "emoji": False},
            {"type": "mrkdwn", "text": "<https://m.example/1|open>"},
        ],
        [{"type": "plain_text", "text": f"<@U999> mallory: “{HOSTILE}”", "emoji": False}],
    ]  # fmt: skip


def mrkdwn_texts(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """Every text in the blocks that Slack parses as mrkdwn."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(list(blocks))
    return found


async def test_markup_emoji_bidi_and_foreign_links_from_the_public_stay_inert(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    from dataclasses import replace

    from responders.alert import BriefItem, SamplePost
    from responders.brief.voices import FOUND

    fake, url = fake_slack
    base = alert()
    loud = "*URGENT* :rotating_light: ```rm -rf``` ~gone~ _now_ evil\u202egnp.exe hid\u200bden"
    samples = (
        SamplePost("https://social.example/s/1", "a@social.example", loud,
                   "https://phish.example/login"),
        SamplePost("at://did:plc:x/app.bsky.feed.post/1", "did:plc:x", "ok",
                   "https://bsky.app/profile/did:plc:x/post/1"),
    )  # fmt: skip
    voice = BriefItem("<!here>*boss*@evil.example", f"{FOUND}42 people reshared it",
                      url="https://elsewhere.example/boss")  # fmt: skip
    hostile = replace(
        base,
        surge=replace(base.surge, samples=samples),
        brief=replace(base.brief, voices=(voice,)),
    )
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(hostile)
    await delivery.aclose()
    [top] = fake.top_level("#alerts")
    contexts = [b["elements"] for b in top.blocks if b["type"] == "context"]
    assert contexts[0] == [
        {"type": "plain_text", "emoji": False,
         "text": "a@social.example: “*URGENT* :rotating_light: ```rm -rf``` ~gone~ _now_ "
                 "evilgnp.exe hidden”"},
    ]  # fmt: skip
    assert contexts[1][1] == {
        "type": "mrkdwn",
        "text": "<https://bsky.app/profile/did:plc:x/post/1|open>",
    }
    parsed = "\n".join(mrkdwn_texts(top.blocks))
    assert "phish.example" not in json.dumps(top.blocks)
    assert "elsewhere.example" not in parsed
    assert "*&lt;!here&gt;∗boss∗@evil.example*" in parsed  # our bold holds; theirs is inert
    assert "\u202e" not in json.dumps(top.blocks, ensure_ascii=False)


async def test_limits_hold_for_an_oversized_alert(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    from dataclasses import replace

    from responders.alert import BriefItem, SamplePost

    fake, url = fake_slack
    base = alert()
    long = "&<>" * 2_000
    surge = replace(
        base.surge,
        samples=tuple(
            SamplePost(str(i), long, long, "https://m.example/" + "a" * 3000) for i in range(30)
        ),
        terms=tuple((f"term{i} {long}", i) for i in range(40)),
        emerging_terms=tuple(long for _ in range(30)),
    )
    items = tuple(BriefItem(long, long, "https://x.example", long) for _ in range(40))
    big = replace(
        base, surge=surge, brief=replace(base.brief, resources=items, voices=items, offers=items)
    )
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(big)
    await delivery.aclose()
    [top] = fake.top_level("#alerts")
    assert check_limits(top.blocks) == []
    assert len(top.text) <= 3_000
    assert "_…and " in json.dumps(top.blocks, ensure_ascii=False)  # the rest is counted
    assert "&amp;&lt;&gt;" in json.dumps(top.blocks)  # escaped, and never cut mid-entity
    assert "&am…" not in json.dumps(top.blocks)
    assert "&l…" not in json.dumps(top.blocks)


async def test_one_campaign_is_one_thread_and_the_top_message_follows_it(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    await delivery.dispatcher.send(alert("update", "peaked", 60))
    await delivery.dispatcher.send(alert("update", "over", 300))
    await delivery.aclose()
    [top] = fake.top_level("#alerts")
    replies = fake.replies(top)
    assert [r.text for r in replies] == [
        "waste: campaign peaked, 120 posts from 115 accounts",
        "waste: campaign over, 360 posts from 355 accounts",
    ]
    assert top.edits == 2
    assert top.blocks[0]["text"]["text"] == "▲ Campaign over: waste"
    assert "360 posts" in top.text
    assert all(call.body["channel"] == top.channel for call in fake.successful("chat.update"))


async def test_429_and_500_are_retried_with_retry_after_and_nothing_is_duplicated(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    fake.trouble("chat.postMessage", ("429", 7), ("500",), ("429", 2))
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    await delivery.aclose()
    assert len(fake.top_level("#alerts")) == 1
    assert 7.0 in clock.sleeps
    assert 2.0 in clock.sleeps
    assert delivery.dispatcher.tally.sent == 1


async def test_an_outage_longer_than_inline_retries_is_left_to_the_outbox(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    fake.trouble("chat.postMessage", *[("500",)] * 9, ("429", 120))
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    assert delivery.outbox.counts() == {"sent": 1}
    await delivery.aclose()
    assert len(fake.top_level("#alerts")) == 1
    assert 120.0 in clock.sleeps  # Retry-After beyond the inline wait: the outbox waited it
    assert delivery.dispatcher.tally.retried >= 2


async def test_a_post_that_got_through_without_an_answer_is_not_posted_twice(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    fake.trouble("chat.postMessage", ("accept_then_hang",))
    delivery = delivery_for(url, tmp_path / "outbox.db", clock, http_timeout=0.5)
    await delivery.dispatcher.send(alert())  # times out, then finds its own message
    await delivery.dispatcher.send(alert("update", "peaked", 60))
    await delivery.aclose()
    [top] = fake.top_level("#alerts")
    assert len(fake.replies(top)) == 1
    assert [c.method for c in fake.calls].count("conversations.history") == 1


async def test_updates_inside_the_cooldown_edit_without_pinging(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    playbook = with_respond(cooldown_minutes=30)
    delivery = delivery_for(url, tmp_path / "outbox.db", clock, (playbook,))
    await delivery.dispatcher.send(alert())
    await delivery.dispatcher.send(alert("update", "escalating", 10))  # quiet: edit only
    await delivery.dispatcher.send(alert("update", "peaked", 45))  # past the cooldown
    await delivery.dispatcher.send(alert("update", "over", 50))  # the end always posts
    await delivery.aclose()
    [top] = fake.top_level("#alerts")
    assert [r.text.split(",")[0] for r in fake.replies(top)] == [
        "waste: campaign peaked",
        "waste: campaign over",
    ]
    assert top.edits == 3


async def test_the_same_alert_twice_is_stored_and_sent_once(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    await delivery.dispatcher.send(alert())
    await delivery.aclose()
    assert len(fake.top_level("#alerts")) == 1
    assert len(fake.messages) == 1


async def test_a_bad_token_fails_at_once_without_retrying(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    fake.trouble("chat.postMessage", ("error", "channel_not_found"))
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    await delivery.aclose()
    assert fake.messages == []
    assert delivery.dispatcher.tally.failed == 1
    assert delivery.dispatcher.tally.retried == 0


async def test_alerts_given_up_in_an_outage_are_sent_on_the_next_start(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> None:
    fake, url = fake_slack
    fake.trouble("chat.postMessage", *[("500",)] * 8)  # two attempts of four calls each
    first = delivery_for(url, tmp_path / "outbox.db", clock, backoff=RetrySchedule(max_attempts=2))
    await first.dispatcher.send(alert())
    assert first.outbox.counts() == {"gave_up": 1}
    await first.aclose()
    assert fake.messages == []
    again = delivery_for(url, tmp_path / "outbox.db", clock)
    await again.dispatcher.drain()
    assert again.outbox.counts() == {"sent": 1}
    await again.aclose()
    assert len(fake.top_level("#alerts")) == 1
