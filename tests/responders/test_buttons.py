"""Button round trip: a signed Slack request → feedback in SQLite → the message redrawn."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from slack_sdk.signature import SignatureVerifier

from tests.responders.conftest import Clock, alert, delivery_for
from tests.responders.fake_slack import APP_TOKEN, FakeSlack
from tests.watcher.service.test_service import wait_for
from watcher.http.slack import PATH, actions_route
from watcher.http.socket_mode import SocketModeError, start_socket_mode
from watcher.service.delivery import DeliveryStack
from watcher.service.metrics import Metrics

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
Server = tuple[FakeSlack, str]


def click_body(action_id: str, value: str = "waste|waste-1", user: str = "U0ACK") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "rosa", "team_id": "T1"},
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1"},
        "actions": [{"type": "button", "action_id": action_id, "value": value}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, *, age: float = 0.0, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(time.time() - age))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.fixture
async def posted(
    fake_slack: Server, tmp_path: Path, clock: Clock
) -> AsyncIterator[tuple[FakeSlack, DeliveryStack, str]]:
    """A campaign already posted, and the actions endpoint serving on a local port."""
    fake, url = fake_slack
    delivery = delivery_for(url, tmp_path / "outbox.db", clock)
    await delivery.dispatcher.send(alert())
    app = web.Application()
    app.add_routes([actions_route(delivery, SECRET, now=clock.now)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    endpoint = f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    try:
        yield fake, delivery, endpoint
    finally:
        await runner.cleanup()
        await delivery.aclose()


async def post(endpoint: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(endpoint, data=body, headers=headers) as r,
    ):
        return r.status


async def test_acknowledge_is_recorded_and_shown_on_the_message(
    posted: tuple[FakeSlack, DeliveryStack, str],
) -> None:
    fake, delivery, endpoint = posted
    body = click_body("groundswell_ack")
    assert await post(endpoint, body, signed(body)) == 200
    [note] = delivery.outbox.feedback("waste-1")
    assert (note.action, note.user_id, note.user_name) == ("ack", "U0ACK", "rosa")
    [top] = fake.top_level("#alerts")
    assert top.edits == 1
    assert "Acknowledged by <@U0ACK>" in json.dumps(top.blocks)


async def test_snooze_silences_the_playbook_until_it_expires(
    posted: tuple[FakeSlack, DeliveryStack, str], clock: Clock
) -> None:
    fake, delivery, endpoint = posted
    body = click_body("groundswell_snooze")
    assert await post(endpoint, body, signed(body)) == 200
    assert delivery.outbox.snoozed_until("waste", clock.now()) == clock.now() + 6 * 3600
    await delivery.dispatcher.send(alert(campaign="waste-2"))
    assert len(fake.top_level("#alerts")) == 1  # suppressed while snoozed
    assert delivery.outbox.counts()["suppressed"] == 1
    clock.t += 6 * 3600 + 1
    await delivery.dispatcher.send(alert(campaign="waste-3"))
    assert len(fake.top_level("#alerts")) == 2  # the snooze expired
    assert "Playbook snoozed by <@U0ACK>" in json.dumps(fake.top_level("#alerts")[0].blocks)


async def test_not_a_campaign_is_counted_in_metrics(
    posted: tuple[FakeSlack, DeliveryStack, str],
) -> None:
    _, delivery, endpoint = posted
    body = click_body("groundswell_not_campaign")
    assert await post(endpoint, body, signed(body)) == 200
    metrics = Metrics(CollectorRegistry())
    metrics.observe_outbox_store(delivery.outbox.counts(), delivery.outbox.feedback_counts())
    text = generate_latest(metrics.registry).decode()
    assert 'groundswell_feedback_total{action="not_campaign",playbook="waste"} 1.0' in text
    assert 'groundswell_outbox_rows{status="sent"} 1.0' in text


@pytest.mark.parametrize(
    ("why", "age", "secret"),
    [("wrong secret", 0.0, "not-the-secret"), ("stale timestamp", 600.0, SECRET)],
)
async def test_bad_or_stale_signatures_are_rejected_and_change_nothing(
    posted: tuple[FakeSlack, DeliveryStack, str], why: str, age: float, secret: str
) -> None:
    fake, delivery, endpoint = posted
    body = click_body("groundswell_ack")
    assert await post(endpoint, body, signed(body, age=age, secret=secret)) == 401, why
    tampered = click_body("groundswell_ack", user="U0EVIL")
    assert await post(endpoint, tampered, signed(body)) == 401
    assert delivery.outbox.feedback("waste-1") == []
    assert fake.top_level("#alerts")[0].edits == 0


async def test_a_signed_click_on_something_else_is_a_clear_400(
    posted: tuple[FakeSlack, DeliveryStack, str],
) -> None:
    _, delivery, endpoint = posted
    body = click_body("groundswell_ack", value="no-such-playbook|x-1")
    assert await post(endpoint, body, signed(body)) == 400
    body = click_body("someone_elses_button")
    assert await post(endpoint, body, signed(body)) == 400
    assert delivery.outbox.feedback_counts() == {}


async def test_after_not_a_campaign_updates_edit_quietly(
    posted: tuple[FakeSlack, DeliveryStack, str],
) -> None:
    fake, delivery, endpoint = posted
    body = click_body("groundswell_not_campaign")
    assert await post(endpoint, body, signed(body)) == 200
    await delivery.dispatcher.send(alert("update", "peaked", 60))
    await delivery.dispatcher.send(alert("update", "over", 120))
    [top] = fake.top_level("#alerts")
    assert fake.replies(top) == []
    assert top.edits == 3  # the click, then each update
    assert top.text.startswith("Campaign on waste (over)")


async def test_socket_mode_click_is_acknowledged_recorded_and_shown(
    posted: tuple[FakeSlack, DeliveryStack, str], fake_slack: tuple[FakeSlack, str]
) -> None:
    fake, delivery, _ = posted
    payload = json.loads(parse_qs(click_body("groundswell_ack").decode())["payload"][0])
    fake.envelopes.append({"envelope_id": "env-1", "type": "interactive", "payload": payload})
    client = await start_socket_mode(delivery, APP_TOKEN, fake_slack[1])
    try:
        await fake.acked.wait()
        await wait_for(lambda: fake.top_level("#alerts")[0].edits >= 1)
    finally:
        await client.close()  # type: ignore[no-untyped-call]
    assert fake.acks == ["env-1"]
    assert [f.action for f in delivery.outbox.feedback("waste-1")] == ["ack"]
    assert "Acknowledged by <@U0ACK>" in json.dumps(fake.top_level("#alerts")[0].blocks)


async def test_socket_mode_with_a_bad_app_token_fails_clearly(
    posted: tuple[FakeSlack, DeliveryStack, str], fake_slack: tuple[FakeSlack, str]
) -> None:
    _, delivery, _ = posted
    with pytest.raises(SocketModeError, match=r"apps\.connections\.open failed"):
        await start_socket_mode(delivery, "xapp-wrong", fake_slack[1])
