"""Hostile requests on `/slack/actions`: each is a 4xx and one log line, and a signed click
replayed inside Slack's five-minute window is not applied a second time."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode

import pytest

from tests.responders.fake_slack import FakeSlack
from tests.responders.test_buttons import SECRET, click_body, post, posted, signed
from watcher.http.slack import WINDOW_S, SeenSignatures
from watcher.service.delivery import DeliveryStack

__all__ = ["posted"]  # the fixture, used by name


def signed_bytes(body: bytes, timestamp: str) -> dict[str, str]:
    """Slack's v0 signature over any bytes (slack_sdk's helper wants UTF-8 text)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def payload_body(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


STRING_USER = payload_body(
    {
        "type": "block_actions",
        "user": "U0EVIL",
        "actions": [{"action_id": "groundswell_ack", "value": "waste|waste-1"}],
    }
)


def hostile(case: str) -> tuple[bytes, dict[str, str], int, str]:
    """One hostile request, signed now: signed at import, it would be stale by the time a
    long or loaded suite reached it (Slack's five-minute window), and answer 401 not 400."""
    now = str(int(time.time()))
    return {
        "timestamp not a number": (
            click_body("groundswell_ack"),
            {**signed(click_body("groundswell_ack")), "X-Slack-Request-Timestamp": "soon"},
            400,
            "slack actions: rejected a request: timestamp 'soon' is not a number",
        ),
        "body not UTF-8": (
            b"payload=\xff\xfe",
            signed_bytes(b"payload=\xff\xfe", now),
            400,
            "slack actions: rejected a request: body is not UTF-8",
        ),
        "payload a JSON list": (
            payload_body([1, 2]),
            signed(payload_body([1, 2])),
            400,
            "slack actions: payload is a JSON list, not an object",
        ),
        "user a string": (
            STRING_USER,
            signed(STRING_USER),
            400,
            "slack actions: payload user 'U0EVIL' is not an object",
        ),
    }[case]


CASES = ("timestamp not a number", "body not UTF-8", "payload a JSON list", "user a string")


@pytest.mark.parametrize("case", CASES)
async def test_hostile_requests_are_a_4xx_and_one_log_line(
    posted: tuple[FakeSlack, DeliveryStack, str],
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    fake, delivery, endpoint = posted
    body, headers, status, logged = hostile(case)
    caplog.clear()
    caplog.set_level(logging.INFO, "groundswell")
    assert await post(endpoint, body, headers) == status
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("WARNING", logged)]
    assert delivery.outbox.feedback("waste-1") == []
    assert fake.top_level("#alerts")[0].edits == 0


async def test_a_replayed_click_is_refused_and_not_applied_again(
    posted: tuple[FakeSlack, DeliveryStack, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, delivery, endpoint = posted
    body = click_body("groundswell_ack")
    headers = signed(body)
    assert await post(endpoint, body, headers) == 200
    caplog.set_level(logging.INFO, "groundswell")
    for _ in range(3):
        assert await post(endpoint, body, headers) == 409
    assert len(delivery.outbox.feedback("waste-1")) == 1
    assert fake.top_level("#alerts")[0].edits == 1
    assert caplog.messages == ["slack actions: refused a replayed request (already applied)"] * 3
    other = click_body("groundswell_ack", user="U0TWO")  # a second person's click still counts
    assert await post(endpoint, other, signed(other)) == 200
    assert len(delivery.outbox.feedback("waste-1")) == 2


def test_signatures_are_remembered_for_the_window_and_bounded() -> None:
    seen = SeenSignatures(limit=3)
    assert seen.first("v0=a", 1000, now=1000)
    assert not seen.first("v0=a", 1000, now=1000 + WINDOW_S)  # still inside the window
    assert seen.first("v0=a", 1000, now=1001 + WINDOW_S)  # stale: the verifier refuses it
    for name in "bcd":
        assert seen.first(f"v0={name}", 2000, now=2000)
    assert len(seen._seen) == 3  # the oldest was forgotten to stay within the bound
