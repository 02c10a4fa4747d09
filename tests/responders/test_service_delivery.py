"""The service delivering through the outbox, with the buttons endpoint on its HTTP app."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
from prometheus_client import CollectorRegistry

from responders.delivery.outbox import Outbox
from tests.conftest import MINI_PLAYBOOK, T0, PostFactory
from tests.responders.conftest import Clock
from tests.responders.fake_slack import APP_TOKEN, TOKEN, FakeSlack
from tests.responders.test_buttons import SECRET, click_body, signed
from tests.watcher.pipeline.test_engine import background, crowd, lines
from tests.watcher.service.test_service import wait_for
from watcher.http.slack import PATH, actions_route
from watcher.playbooks.model import Playbook
from watcher.service.delivery import DeliveryConfig, build_delivery
from watcher.service.metrics import Metrics
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings
from watcher.sources.replay import ReplaySource


async def test_service_posts_to_slack_and_takes_clicks_on_its_own_port(
    mini_playbook: Playbook,
    make_post: PostFactory,
    fake_slack: tuple[FakeSlack, str],
    tmp_path: Path,
    clock: Clock,
) -> None:
    fake, url = fake_slack
    data = lines(background(make_post, 6) + crowd(make_post, T0 + 6 * 3600, 200))
    config = DeliveryConfig(outbox=tmp_path / "outbox.db", slack_token=TOKEN, slack_api_url=url)
    delivery = build_delivery([mini_playbook], config, sleep=clock.sleep, now=clock.now)

    def refresh(metrics: Metrics) -> None:
        metrics.observe_outbox_store(
            delivery.outbox.counts(),
            delivery.outbox.feedback_counts(),
            delivery.dispatcher.tally.by_responder,
        )

    service = Service(
        [mini_playbook],
        [ReplaySource("test", lambda: iter(data))],
        [delivery.dispatcher],
        Settings(http=HttpSettings(port=0)),
        Wiring(
            registry=CollectorRegistry(),
            routes=[actions_route(delivery, SECRET, now=clock.now)],
            on_refresh=refresh,
        ),
    )
    stop = asyncio.Event()
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await wait_for(lambda: bool(fake.top_level("#alerts")))
        base = f"http://127.0.0.1:{service.port}"
        body = click_body("groundswell_not_campaign", value="waste|" + _campaign(fake))
        async with aiohttp.ClientSession() as http:
            async with http.post(base + PATH, data=body, headers=signed(body)) as resp:
                assert resp.status == 200
            async with http.post(base + PATH, data=body, headers={}) as resp:
                assert resp.status == 401
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
        stop.set()
        await asyncio.wait_for(runner, 15)
    await delivery.aclose()
    assert 'groundswell_feedback_total{action="not_campaign",playbook="waste"} 1.0' in text
    assert 'groundswell_outbox_rows{status="sent"}' in text
    assert 'groundswell_deliveries_total{outcome="sent",responder="slack:#alerts"} 1.0' in text
    assert "Marked not a campaign by <@U0ACK>" in json.dumps(fake.top_level("#alerts")[0].blocks)


def _campaign(fake: FakeSlack) -> str:
    actions = fake.top_level("#alerts")[0].blocks[-1]
    return str(actions["elements"][0]["value"]).partition("|")[2]


async def test_groundswell_run_wires_slack_buttons_and_the_outbox_from_the_environment(
    mini_playbook: Playbook,
    make_post: PostFactory,
    fake_slack: tuple[FakeSlack, str],
    tmp_path: Path,
) -> None:
    fake, url = fake_slack
    posts = tmp_path / "posts.ndjson"
    posts.write_bytes(
        b"\n".join(lines(background(make_post, 6) + crowd(make_post, T0 + 21600, 200)))
    )
    playbook = tmp_path / "mini.yaml"
    playbook.write_text(MINI_PLAYBOOK, encoding="utf-8")
    with socket.socket() as probe:  # a free port for the service
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN,
    }
    early = json.loads(
        parse_qs(click_body("groundswell_not_campaign", "waste|old").decode())["payload"][0]
    )
    fake.envelopes.append({"envelope_id": "env-9", "type": "interactive", "payload": early})
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "watcher", "run", "--playbooks", str(playbook)),
        *("--source", f"file:{posts}", "--http-port", str(port)),
        *("--outbox", str(tmp_path / "outbox.db"), "--state", str(tmp_path / "state.db")),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for(lambda: bool(fake.top_level("#alerts")))
        body = click_body("groundswell_ack", value="waste|" + _campaign(fake))
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{port}{PATH}", data=body, headers=signed(body)) as resp,
        ):
            assert resp.status == 200
        await wait_for(lambda: fake.top_level("#alerts")[0].edits >= 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "Acknowledged by <@U0ACK>" in json.dumps(fake.top_level("#alerts")[0].blocks)
    assert fake.acks == ["env-9"]  # the Socket Mode click was acknowledged and recorded
    outbox = Outbox(tmp_path / "outbox.db")
    assert [f.action for f in outbox.feedback("old")] == ["not_campaign"]
    outbox.close()
