"""Faults inside a running service, over real HTTP: a gap of a year in event time, fields
of hostile size, and two feeds whose clocks disagree (issue 14, D4, D7 and D11)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry

from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import crowd
from tests.watcher.playbooks.test_reload import QueueSource
from tests.watcher.service.test_service import wait_for
from tests.watcher.service.test_service_sources import running
from watcher.playbooks.model import Playbook
from watcher.post import post_from_json
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings
from watcher.sources.ingest import IngestSource

pytestmark = pytest.mark.timeout(60)  # a year of empty buckets closed one by one took minutes

AUTH = {"Authorization": "Bearer s3cret"}
YEAR = 365 * 86400.0


def ndjson(posts: list[dict[str, object]]) -> bytes:
    return b"\n".join(orjson.dumps(p) for p in posts)


@asynccontextmanager
async def serve(playbook: Playbook, now: float) -> AsyncIterator[tuple[Service, str]]:
    ingest = IngestSource("s3cret", clock=lambda: now)
    service = Service(
        [playbook], [ingest], [], Settings(http=HttpSettings(port=0)),
        Wiring(registry=CollectorRegistry()),
    )  # fmt: skip
    async with running(service) as base:
        yield service, base


async def test_a_post_a_year_old_then_one_now_leaves_healthz_answering(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    now = T0 + YEAR
    closed: list[float] = []
    async with serve(mini_playbook, now) as (service, base):
        service.engine.on_bucket(lambda _, bucket, __: closed.append(bucket.start))
        async with aiohttp.ClientSession() as http:
            for posts in ([make_post(T0, "toxic waste, a year ago")],
                          crowd(make_post, now, 50)):  # fmt: skip
                async with http.post(f"{base}/ingest", data=ndjson(posts), headers=AUTH) as resp:
                    report = await resp.json()
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
        skipped = service.engine.runtimes[0].detector.skipped_buckets  # type: ignore[attr-defined]
    assert report["accepted"] == 50
    assert len(closed) <= 24 * 12 + 4  # a day of empty buckets, then one skip
    assert skipped > 100_000


async def test_oversized_fields_are_malformed_or_cut_and_the_good_lines_kept(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    lines = [
        make_post(T0, "toxic waste", id="i" * 16 * 1024),
        make_post(T0, "toxic waste", author="a" * 64 * 1024),
        make_post(T0, "toxic waste " + "x" * 100_000),
        make_post(T0, "toxic waste, a normal post"),
    ]
    async with serve(mini_playbook, T0) as (service, base):
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base}/ingest", data=ndjson(lines), headers=AUTH) as resp,
        ):
            report = await resp.json()
        await wait_for(lambda: service.engine.stats.matched["waste"] == 2)
        open_bucket = next(iter(service.engine.runtimes[0].windows.open.values()))
    assert (report["accepted"], report["malformed"]) == (2, 2)
    assert report["errors"] == [
        "line 1: `id` is 16,384 characters; at most 1,000 are allowed",
        "line 2: `author` is 65,536 characters; at most 500 are allowed",
    ]
    assert max(len(p.text) for p in open_bucket.examples.values()) == 40_000


async def test_a_feed_four_minutes_ahead_does_not_make_one_two_minutes_behind_late(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    ahead, behind = QueueSource(), QueueSource()
    ahead.name, behind.name = "ahead", "behind"
    now = T0 + 3600
    service = Service(
        [mini_playbook], [ahead, behind], [], Settings(http=HttpSettings(port=0)),
        Wiring(registry=CollectorRegistry()),
    )  # fmt: skip
    async with running(service):
        await ahead.queue.put([post_from_json(make_post(now + 240, "toxic waste from ahead"))])
        await wait_for(lambda: service.engine.stats.received == 1)
        for minute in range(10):
            posts = [make_post(now - 120 + minute * 60 + i, "toxic waste") for i in range(10)]
            await behind.queue.put([post_from_json(p) for p in posts])
        await wait_for(lambda: service.engine.stats.received == 101)
    assert service.engine.stats.late == 0
    assert service.engine.stats.matched["waste"] == 101


async def test_through_ingest_feeds_that_disagree_are_not_late_and_the_sender_is_told(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    """The issue's case, over /ingest: one post dated 4 minutes ahead, then 100 from a feed
    2 minutes behind. A post 8 minutes behind is late, and the answer says so."""
    now = T0 + 3600
    ahead = [make_post(now + 240, "toxic waste", source="fast-feed")]
    behind = [make_post(now - 120 + i, "toxic waste", source="slow-feed") for i in range(100)]
    stale = [make_post(now - 480, "toxic waste", source="slow-feed")]
    reports = []
    async with serve(mini_playbook, now) as (service, base), aiohttp.ClientSession() as http:
        for posts in (ahead, behind, stale):
            async with http.post(f"{base}/ingest", data=ndjson(posts), headers=AUTH) as resp:
                reports.append(await resp.json())
    assert [(r["accepted"], r["late"]) for r in reports] == [(1, 0), (100, 0), (1, 1)]
    assert service.engine.stats.matched["waste"] == 101
