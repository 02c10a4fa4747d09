""" "Not a campaign" clicks reach the playbook's detector once each, across restarts."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from detectors.campaign import FALSE_ALARM_STEP
from responders.delivery.feedback import Feedback
from responders.delivery.outbox import Outbox
from responders.slack.actions import apply_click, parse_click
from tests.conftest import T0, PostFactory
from tests.responders.test_buttons import SECRET, click_body, signed
from tests.watcher.pipeline.test_engine import background, crowd, lines
from tests.watcher.service.test_service import scrape, wait_for
from watcher.http.slack import PATH, actions_route
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook
from watcher.service.delivery import DeliveryConfig, build_delivery
from watcher.service.feedback import apply_false_alarms
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings
from watcher.sources.replay import ReplaySource

NOT_CAMPAIGN = Feedback("not_campaign", "U1", "rosa")


def strictness(engine: Engine) -> float:
    return engine.runtimes[0].detector.strictness(engine.watermark)


async def click(port: int, campaign: str, user: str) -> None:
    body = click_body("groundswell_not_campaign", value=f"waste|{campaign}", user=user)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}{PATH}", data=body, headers=signed(body)) as resp,
    ):
        assert resp.status == 200


async def restart(playbook: Playbook, state: Path, outbox: Path) -> Service:
    """Start the service on the saved state with nothing new to read, and stop it again."""
    store = Outbox(outbox)
    service = Service(
        [playbook],
        [ReplaySource("none", lambda: iter([]))],
        [],
        Settings(http=HttpSettings(port=0), state=state),
        Wiring(outbox=store),
    )
    async with service:
        stop = asyncio.Event()
        stop.set()
        await service.run(stop)
    store.close()
    return service


async def test_a_click_makes_the_detector_stricter_once_and_survives_restarts(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path
) -> None:
    state, outbox = tmp_path / "state.sqlite", tmp_path / "outbox.sqlite"
    data = lines(background(make_post, 6) + crowd(make_post, T0 + 6 * 3600, 200))
    out = io.StringIO()
    delivery = build_delivery([mini_playbook], DeliveryConfig(outbox, console=out))
    source = ReplaySource("test", lambda: iter(data))
    service = Service(
        [mini_playbook],
        [source],
        [delivery.dispatcher],
        Settings(http=HttpSettings(port=0), state=state),
        Wiring(
            registry=CollectorRegistry(),
            routes=[actions_route(delivery, SECRET)],
            outbox=delivery.outbox,
        ),
    )
    stop = asyncio.Event()
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await wait_for(lambda: source.health.finished and "NEW CAMPAIGN" in out.getvalue())
        with sqlite3.connect(outbox) as db:
            (campaign,) = db.execute("SELECT campaign_id FROM outbox WHERE kind = 'new'").fetchone()
        db.close()
        assert strictness(service.engine) == 1.0
        await click(service.port, campaign, "U0ROSA")
        await click(service.port, campaign, "U0SAM")  # a colleague agrees: still one alarm
        service.apply_feedback()  # what the poller does every few seconds
        assert strictness(service.engine) == 1.0 + FALSE_ALARM_STEP
        metrics = await scrape(service.port)
        stop.set()
        await asyncio.wait_for(runner, 15)
    await delivery.aclose()
    assert strictness(service.engine) == 1.0 + FALSE_ALARM_STEP
    assert 'groundswell_detector_strictness{playbook="waste"} 1.25' in metrics

    # the checkpoint holds the strictness and the click, so a restart applies nothing again
    again = await restart(mini_playbook, state, outbox)
    assert strictness(again.engine) == 1.0 + FALSE_ALARM_STEP

    # a click recorded while Groundswell was down, exactly as the Socket Mode handler does
    store = Outbox(outbox)
    payload = parse_qs(click_body("groundswell_not_campaign", "waste|waste-earlier").decode())
    respond = {"waste": mini_playbook.respond}
    await apply_click(parse_click(json.loads(payload["payload"][0])), store, {}, respond, now=0)
    store.close()
    later = await restart(mini_playbook, state, outbox)
    assert strictness(later.engine) == 1.0 + 2 * FALSE_ALARM_STEP
    assert (
        strictness((await restart(mini_playbook, state, outbox)).engine)
        == 1.0 + 2 * FALSE_ALARM_STEP
    )


def warm_engine(playbook: Playbook, make_post: PostFactory) -> Engine:
    engine = Engine([playbook])
    engine.feed_lines(lines(background(make_post, 3)))
    return engine


def test_clicks_before_the_first_checkpoint_are_history_and_unknown_playbooks_are_skipped(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.add_feedback("waste", "waste-old", NOT_CAMPAIGN, now=0)
    engine = Engine([mini_playbook])
    assert apply_false_alarms(engine, outbox) == 0  # no checkpoint knew of the old click
    assert engine.false_alarms_applied == 1
    outbox.add_feedback("waste", "waste-1", NOT_CAMPAIGN, now=0)
    assert apply_false_alarms(engine, outbox) == 0  # no event time to apply it at yet
    engine.feed_lines(lines(background(make_post, 3)))
    outbox.add_feedback("gone", "gone-1", NOT_CAMPAIGN, now=0)
    outbox.add_feedback("waste", "waste-1", Feedback("ack", "U2", "sam"), now=0)
    assert apply_false_alarms(engine, outbox) == 1
    assert engine.false_alarms_applied == 3  # the removed playbook's click is passed over
    assert apply_false_alarms(engine, outbox) == 0
    assert strictness(engine) == 1.0 + FALSE_ALARM_STEP
    outbox.close()


@pytest.mark.parametrize(("detect", "kept"), [({}, 1.25), ({"warmup_hours": 3}, 1.0)])
def test_a_reload_keeps_the_strictness_unless_the_detect_section_changed(
    mini_playbook: Playbook, make_post: PostFactory, detect: dict[str, float], kept: float
) -> None:
    assert Engine([mini_playbook]).mark_false_alarm("waste") is None  # no event time yet
    engine = warm_engine(mini_playbook, make_post)
    assert engine.mark_false_alarm("waste") == 1.25
    assert engine.mark_false_alarm("elsewhere") is None
    edited = mini_playbook.model_copy(
        update={
            "description": "edited",
            "detect": mini_playbook.detect.model_copy(update=detect),
        }
    )
    engine.replace_playbooks([edited])
    assert strictness(engine) == kept
