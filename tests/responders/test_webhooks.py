"""The generic signed JSON webhook, Slack incoming webhooks and the NDJSON channel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from responders.channels.webhook import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from responders.params import NdjsonParams, SlackParams, WebhookParams
from tests.responders.conftest import Clock, alert, with_respond
from tests.responders.test_slack import mrkdwn_texts
from watcher.playbooks.model import Playbook
from watcher.service.delivery import DeliveryConfig, build_delivery


@dataclass
class Receiver:
    """A local HTTP endpoint that answers from a script, then 200, and keeps what it got."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status, headers = self.script.pop(0) if self.script else (200, {})
        self.got.append((dict(request.headers), body, status))
        return web.Response(status=status, headers=headers, text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield rec, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


def deliver_to(playbook: Playbook, tmp_path: Path, clock: Clock, env: dict[str, str]) -> Any:
    config = DeliveryConfig(outbox=tmp_path / "outbox.db", env=env)
    return build_delivery([playbook], config, sleep=clock.sleep, now=clock.now)


async def test_webhook_is_signed_retried_and_keyed_for_dedup(
    receiver: tuple[Receiver, str], tmp_path: Path, clock: Clock
) -> None:
    rec, url = receiver
    rec.script = [(503, {}), (429, {"Retry-After": "3"})]
    hook = WebhookParams(url=url, secret_env="HOOK_SECRET")
    playbook = with_respond(channels=("webhook",), webhook=hook)
    delivery = deliver_to(playbook, tmp_path, clock, {"HOOK_SECRET": "s3cret"})
    await delivery.dispatcher.send(alert())
    await delivery.aclose()
    assert [status for *_, status in rec.got] == [503, 429, 200]
    assert 3.0 in clock.sleeps
    headers, body, _ = rec.got[-1]
    assert headers[SIGNATURE_HEADER] == sign("s3cret", headers[TIMESTAMP_HEADER], body)
    assert orjson.loads(body)["campaign_id"] == "waste-1"
    assert len({h[KEY_HEADER] for h, *_ in rec.got}) == 1  # the same key on every attempt


async def test_webhook_4xx_is_not_retried(
    receiver: tuple[Receiver, str], tmp_path: Path, clock: Clock
) -> None:
    rec, url = receiver
    rec.script = [(404, {})]
    hook = WebhookParams(url=url)
    delivery = deliver_to(with_respond(channels=("webhook",), webhook=hook), tmp_path, clock, {})
    await delivery.dispatcher.send(alert())
    assert delivery.outbox.counts() == {"failed": 1}
    await delivery.aclose()
    assert len(rec.got) == 1
    assert SIGNATURE_HEADER not in rec.got[0][0]


async def test_slack_incoming_webhook_gets_escaped_blocks_without_buttons(
    receiver: tuple[Receiver, str], tmp_path: Path, clock: Clock
) -> None:
    rec, url = receiver
    slack = SlackParams(channel="#alerts", webhook_url_env="SLACK_HOOK")
    delivery = deliver_to(with_respond(slack=slack), tmp_path, clock, {"SLACK_HOOK": url})
    await delivery.dispatcher.send(alert())
    await delivery.dispatcher.send(alert("update", "peaked", 60))
    await delivery.aclose()
    bodies = [json.loads(body) for _, body, _ in rec.got]
    assert len(bodies) == 2
    assert all(b["type"] != "actions" for b in bodies[0]["blocks"])
    assert "<!channel>" not in json.dumps(mrkdwn_texts(bodies[0]["blocks"])) + bodies[0]["text"]
    assert bodies[1]["text"] == "waste: campaign peaked, 120 posts from 115 accounts"


async def test_a_channel_whose_secret_is_missing_is_skipped_with_a_warning(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    slack = SlackParams(channel="#alerts", webhook_url_env="SLACK_HOOK")
    delivery = deliver_to(with_respond(slack=slack), tmp_path, clock, {})
    await delivery.dispatcher.send(alert())
    await delivery.aclose()
    assert "waste: Slack webhook skipped: $SLACK_HOOK is not set" in caplog.text


async def test_ndjson_channel_appends_alert_lines(tmp_path: Path, clock: Clock) -> None:
    out = tmp_path / "alerts.ndjson"
    playbook = with_respond(channels=("ndjson",), ndjson=NdjsonParams(path=str(out)))
    delivery = deliver_to(playbook, tmp_path, clock, {})
    await delivery.dispatcher.send(alert())
    await delivery.dispatcher.send(alert("update", "over", 60))
    await delivery.aclose()
    assert [orjson.loads(line)["state"] for line in out.read_bytes().splitlines()] == [
        "emerging",
        "over",
    ]
