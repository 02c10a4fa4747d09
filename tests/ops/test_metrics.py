"""The metrics: names, initial series, live reads at scrape time, the event helpers and the
HTTP endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from responders.channels.console import ConsoleResponder
from tests.conftest import T0, PostFactory
from tests.ops.conftest import run
from tests.watcher.pipeline.test_engine import lines
from tests.watcher.service.test_service import wait_for
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook
from watcher.service.metrics import Metrics
from watcher.service.service import Service
from watcher.settings import HttpSettings, Settings
from watcher.sources.base import Source, SourceHealth
from watcher.sources.follow import FollowSource
from watcher.sources.replay import ReplaySource, file_lines


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    value = metrics.registry.get_sample_value(name, labels)
    return value


@dataclass
class Feed:
    """A source as the metrics see it: a name and a live `SourceHealth`."""

    name: str
    health: SourceHealth = field(default_factory=SourceHealth)


@dataclass
class Clock:
    t: float = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Live:
    """Metrics reading an engine running `waste`, a source `mastodon` and a posts queue."""

    engine: Engine
    source: Feed
    clock: Clock
    metrics: Metrics


@pytest.fixture
def live(mini_playbook: Playbook) -> Live:
    assert mini_playbook.name == "waste"
    engine, source, clock = Engine([mini_playbook]), Feed("mastodon"), Clock()
    metrics = Metrics(
        CollectorRegistry(),
        engine=engine,
        sources=[source],
        responders=["slack"],
        queues={"posts": asyncio.Queue(64)},
        started=1000.0,
        clock=clock,
    )
    return Live(engine, source, clock, metrics)


def test_known_label_sets_exist_at_zero_before_any_event(live: Live) -> None:
    m = live.metrics
    for name in (
        "groundswell_posts_received_total",
        "groundswell_posts_parsed_total",
        "groundswell_posts_malformed_total",
        "groundswell_posts_deduplicated_total",
        "groundswell_posts_dropped_total",
        "groundswell_source_reconnects_total",
        "groundswell_source_up",
    ):
        assert sample(m, name, source="mastodon") == 0.0, name
    assert sample(m, "groundswell_alerts_total", playbook="waste", kind="new") == 0.0
    assert sample(m, "groundswell_alerts_total", playbook="waste", kind="update") == 0.0
    assert sample(m, "groundswell_campaign_state", playbook="waste") == 0.0
    assert sample(m, "groundswell_detector_strictness", playbook="waste") == 1.0
    assert sample(m, "groundswell_deliveries_total", responder="slack", outcome="failed") == 0.0
    assert sample(m, "groundswell_delivery_seconds_count", responder="slack") == 0.0
    assert sample(m, "groundswell_queue_capacity", queue="posts") == 64.0
    assert sample(m, "groundswell_playbooks_loaded") == 1.0
    assert sample(m, "groundswell_playbook_last_reload_successful") == 1.0
    assert sample(m, "groundswell_outbox_depth") == 0.0
    assert sample(m, "groundswell_slack_rate_limited_total") == 0.0


def test_source_health_is_read_at_each_scrape(live: Live) -> None:
    m, health = live.metrics, live.source.health
    health.connected, health.received, health.malformed, health.reconnects = True, 10, 2, 1
    health.last_event = 950.0
    assert sample(m, "groundswell_posts_received_total", source="mastodon") == 10.0
    health.received, health.malformed, health.reconnects = 15, 3, 1
    live.clock.t = 1010.0
    assert sample(m, "groundswell_posts_received_total", source="mastodon") == 15.0
    assert sample(m, "groundswell_posts_parsed_total", source="mastodon") == 12.0
    assert sample(m, "groundswell_posts_malformed_total", source="mastodon") == 3.0
    assert sample(m, "groundswell_source_reconnects_total", source="mastodon") == 1.0
    assert sample(m, "groundswell_source_event_lag_seconds", source="mastodon") == 60.0
    assert sample(m, "groundswell_source_up", source="mastodon") == 1.0


def test_a_delivery_with_retries_counts_each_try(live: Live) -> None:
    m = live.metrics
    m.observe_delivery("slack", "sent", attempts=3)  # two 429s, then posted
    m.observe_delivery("slack", "failed", attempts=2)
    m.observe_delivery("slack", "suppressed")
    assert sample(m, "groundswell_delivery_attempts_total", responder="slack") == 5.0
    assert sample(m, "groundswell_delivery_retries_total", responder="slack") == 3.0
    assert sample(m, "groundswell_delivery_failures_total", responder="slack") == 4.0
    assert sample(m, "groundswell_deliveries_total", responder="slack", outcome="sent") == 1.0
    assert sample(m, "groundswell_deliveries_total", responder="slack", outcome="failed") == 1.0
    assert sample(m, "groundswell_deliveries_total", responder="slack", outcome="suppressed") == 1.0


def test_the_outbox_tally_adds_to_the_pushed_deliveries(live: Live) -> None:
    m = live.metrics
    m.observe_delivery("slack", "sent", attempts=2)
    tally = {("slack", "retried"): 2, ("slack", "sent"): 1, ("console", "suppressed"): 1}
    m.observe_outbox_store({"pending": 1}, {}, tally)
    assert sample(m, "groundswell_delivery_attempts_total", responder="slack") == 5.0
    assert sample(m, "groundswell_delivery_retries_total", responder="slack") == 3.0
    assert sample(m, "groundswell_delivery_failures_total", responder="slack") == 3.0
    assert sample(m, "groundswell_deliveries_total", responder="slack", outcome="sent") == 2.0
    assert sample(m, "groundswell_deliveries_total", responder="console", outcome="sent") == 0.0
    assert (
        sample(m, "groundswell_deliveries_total", responder="console", outcome="suppressed") == 1.0
    )
    m.observe_outbox_store({"pending": 1}, {}, tally)  # the same totals, read again
    assert sample(m, "groundswell_deliveries_total", responder="slack", outcome="sent") == 2.0


def test_reloads_checkpoints_and_the_other_pushed_values(
    live: Live, mini_playbook: Playbook
) -> None:
    m, engine = live.metrics, live.engine
    sewage = mini_playbook.model_copy(update={"name": "sewage"})
    live.clock.t = 1030.0
    assert sample(m, "groundswell_checkpoint_age_seconds") == 30.0  # since start: none yet
    m.observe_checkpoint(1040.0)
    live.clock.t = 1045.0
    assert sample(m, "groundswell_checkpoint_age_seconds") == 5.0
    m.observe_reload(ok=False)
    assert sample(m, "groundswell_playbook_last_reload_successful") == 0.0
    engine.replace_playbooks([mini_playbook, sewage])
    m.observe_reload(ok=True)
    assert sample(m, "groundswell_playbook_reloads_total") == 2.0
    assert sample(m, "groundswell_playbook_reload_failures_total") == 1.0
    assert sample(m, "groundswell_playbook_last_reload_successful") == 1.0
    assert sample(m, "groundswell_alerts_total", playbook="sewage", kind="new") == 0.0
    engine.replace_playbooks([mini_playbook])  # sewage removed: its series go with it
    m.observe_reload(ok=True)
    assert sample(m, "groundswell_alerts_total", playbook="sewage", kind="new") is None
    assert sample(m, "groundswell_detector_strictness", playbook="sewage") is None
    m.count_rate_limited(2)
    m.observe_outbox_store({"pending": 7}, {})
    live.source.health.duplicates, live.source.health.dropped = 4, 500
    assert sample(m, "groundswell_slack_rate_limited_total") == 2.0
    assert sample(m, "groundswell_outbox_depth") == 7.0
    assert sample(m, "groundswell_posts_deduplicated_total", source="mastodon") == 4.0
    assert sample(m, "groundswell_posts_dropped_total", source="mastodon") == 500.0


def test_a_kept_playbook_keeps_counting_across_a_reload(
    live: Live, mini_playbook: Playbook, make_post: PostFactory
) -> None:
    m, engine = live.metrics, live.engine
    engine.feed_lines(lines([make_post(T0 + i, "toxic waste") for i in range(3)]))
    m.observe_alert("waste", "new")
    sewage = mini_playbook.model_copy(update={"name": "sewage"})
    engine.replace_playbooks([mini_playbook, sewage])
    assert sample(m, "groundswell_posts_matched_total", playbook="waste") == 3.0
    assert sample(m, "groundswell_alerts_total", playbook="waste", kind="new") == 1.0
    assert sample(m, "groundswell_posts_matched_total", playbook="sewage") == 0.0
    engine.feed_lines(lines([make_post(T0 + 10, "toxic waste")]))
    assert sample(m, "groundswell_posts_matched_total", playbook="waste") == 4.0
    assert sample(m, "groundswell_posts_matched_total", playbook="sewage") == 1.0
    engine.replace_playbooks([mini_playbook])
    engine.replace_playbooks([mini_playbook, sewage])  # removed, then added back
    assert sample(m, "groundswell_posts_matched_total", playbook="sewage") == 1.0


def test_the_exposition_passes_promtool_naming_lints(promtool: str, live: Live) -> None:
    m = live.metrics
    m.observe_delivery("slack", "sent")
    m.observe_outbox_store({"pending": 1}, {("waste", "ack"): 1}, {("slack", "retried"): 1})
    run(promtool, "check", "metrics", stdin=generate_latest(m.registry).decode())


async def readyz(service: Service) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{service.port}/readyz") as resp,
    ):
        body: dict[str, Any] = orjson.loads(await resp.read())
        return resp.status, body


@pytest.mark.parametrize("follow", [False, True], ids=["replay", "follow"])
async def test_readyz_shows_a_file_source_reading_while_it_reads(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path, follow: bool
) -> None:
    # a paced replay: the second post is an hour of event time away, so it waits in between
    posts = tmp_path / "posts.ndjson"
    posts.write_bytes(
        b"\n".join(lines([make_post(T0 + i * 3600, "toxic waste") for i in range(2)])) + b"\n"
    )
    source: Source = (
        FollowSource("file", posts, poll=0.05)
        if follow
        else ReplaySource("file", file_lines(posts), speed=1.0)
    )
    service = Service(
        [mini_playbook], [source], [ConsoleResponder()], Settings(http=HttpSettings(port=0))
    )
    stop = asyncio.Event()
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await wait_for(lambda: source.health.last_event is not None)
        status, body = await readyz(service)
        stop.set()
        await asyncio.wait_for(runner, 10)
    assert status == 200
    assert body["sources"] == {"file": True}
    assert body["source_health"]["file"]["state"] == ("connected" if follow else "replaying")


async def test_readyz_fails_once_every_source_has_finished(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    data = lines([make_post(T0 + i, "toxic waste") for i in range(5)])

    def read() -> Iterable[bytes]:
        return iter(data)

    source = ReplaySource("replay", read)
    service = Service(
        [mini_playbook], [source], [ConsoleResponder()], Settings(http=HttpSettings(port=0))
    )
    stop = asyncio.Event()
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await wait_for(lambda: source.health.finished)
        base = f"http://127.0.0.1:{service.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz") as resp:
                status, body = resp.status, orjson.loads(await resp.read())
            async with http.get(f"{base}/healthz") as resp:
                alive = resp.status
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
        stop.set()
        await asyncio.wait_for(runner, 10)
    assert status == 503
    assert {k: body[k] for k in ("ready", "playbooks", "sources")} == {
        "ready": False,
        "playbooks": 1,
        "sources": {"replay": False},
    }
    assert body["source_health"]["replay"]["state"] == "finished"
    assert alive == 200
    assert 'groundswell_source_finished{source="replay"} 1.0' in text
    assert 'groundswell_posts_parsed_total{source="replay"} 5.0' in text
    assert "groundswell_checkpoint_age_seconds " in text
