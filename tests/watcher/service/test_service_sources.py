"""Sources inside the service: ingest over HTTP, supervision, buffering, dedup, follow."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry

from tests.conftest import T0, PostFactory
from tests.watcher.service.test_service import wait_for
from tests.watcher.sources.fakes import FakeJetstream, jetstream_feed, serving
from tests.watcher.sources.helpers import Sleeps, collect
from watcher.pipeline.dedup import Dedup, RecentKeys
from watcher.playbooks.model import Playbook
from watcher.post import Post, parse_post_line
from watcher.service.record import Recorder
from watcher.service.service import Service, Wiring
from watcher.service.supervisor import SourceBuffer, supervise
from watcher.settings import HttpSettings, Settings
from watcher.sources.base import Source, SourceHealth
from watcher.sources.follow import FollowSource
from watcher.sources.ingest import IngestSource
from watcher.sources.jetstream import JetstreamSource

pytestmark = pytest.mark.timeout(30)


def post(i: int, author: str = "a", url: str = "") -> Post:
    return Post(f"id{i}", author, "toxic waste", datetime.fromtimestamp(T0 + i, tz=UTC), url=url)


@contextlib.asynccontextmanager
async def running(service: Service) -> AsyncIterator[str]:
    stop = asyncio.Event()
    async with service:
        task = asyncio.create_task(service.run(stop))
        try:
            yield f"http://127.0.0.1:{service.port}"
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


async def test_ingest_counts_each_lines_outcome_and_records_accepted_posts(
    mini_playbook: Playbook, make_post: PostFactory, tmp_path: Path
) -> None:
    ingest = IngestSource("s3cret", max_body=10_000, clock=lambda: T0 + 100)
    future = make_post(T0 + 10**6, "from the future")
    good = [make_post(T0 + i, "toxic waste") for i in range(3)]
    body = b"\n".join(
        [
            *(orjson.dumps(p) for p in good),
            b"{oops",
            orjson.dumps(good[0]),
            orjson.dumps(future),
            b"",
            b'{"id": "x"}',
        ]
    )
    out = tmp_path / "rec.ndjson"
    with Recorder(out) as recorder:
        service = Service(
            [mini_playbook],
            [ingest],
            [],
            Settings(http=HttpSettings(port=0)),
            Wiring(dedup=Dedup(), recorder=recorder, registry=CollectorRegistry()),
        )
        async with running(service) as base, aiohttp.ClientSession() as http:
            async with http.post(f"{base}/ingest", data=body) as resp:
                assert resp.status == 401
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            auth = {"Authorization": "Bearer s3cret"}
            async with http.post(f"{base}/ingest", data=body, headers=auth) as resp:
                assert resp.status == 200
                report = orjson.loads(await resp.read())
            async with http.post(f"{base}/ingest", data=b"x" * 10_001, headers=auth) as resp:
                assert resp.status == 413
                assert "send smaller batches" in (await resp.text())
            await wait_for(lambda: recorder.written == 4)
            async with http.get(f"{base}/readyz") as resp:
                health = orjson.loads(await resp.read())["source_health"]["ingest"]
    assert report["accepted"] == 4
    assert report["malformed"] == 2
    assert report["duplicate"] == 1
    assert report["errors"][0].startswith("line 4: not JSON")
    assert report["errors"][1] == "line 8: `author` is required and must be a string"
    assert health["state"] == "connected"
    written = [parse_post_line(line) for line in out.read_bytes().splitlines()]
    assert [p.id for p in written] == [p["id"] for p in [*good, future]]
    assert written[-1].timestamp == T0 + 100  # clamped to the server's clock


async def test_ingest_tells_its_sender_how_many_posts_were_late_or_refused(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    now = T0 + 2 * 86400
    ingest = IngestSource("s3cret", clock=lambda: now)
    service = Service(
        [mini_playbook], [ingest], [], Settings(http=HttpSettings(port=0)),
        Wiring(registry=CollectorRegistry()),
    )  # fmt: skip
    auth = {"Authorization": "Bearer s3cret"}
    bodies = [
        [make_post(now, "toxic waste now")],
        [make_post(now - 3600 + i, "toxic waste an hour ago") for i in range(3)]
        + [make_post(T0, "toxic waste two days ago"), make_post(now, "toxic waste again")],
    ]
    reports = []
    async with running(service) as base, aiohttp.ClientSession() as http:
        for posts in bodies:
            body = b"\n".join(orjson.dumps(p) for p in posts)
            async with http.post(f"{base}/ingest", data=body, headers=auth) as resp:
                reports.append(orjson.loads(await resp.read()))
        async with http.get(f"{base}/metrics") as resp:
            metrics = await resp.text()
    assert [(r["accepted"], r["late"], r["refused"]) for r in reports] == [(1, 0, 0), (5, 3, 1)]
    assert 'groundswell_posts_refused_total{source="ingest"} 1.0' in metrics
    assert "groundswell_posts_late_total 3.0" in metrics


class Crashy(Source):
    """Crashes on its first run, the way a parser bug would; then behaves."""

    firehose = False

    def __init__(self) -> None:
        self.name = "crashy"
        self.health = SourceHealth()
        self.runs = 0

    async def stream(self) -> AsyncIterator[list[Post]]:
        self.runs += 1
        yield [post(self.runs)]
        if self.runs == 1:
            raise KeyError("boom")


async def test_a_crashing_source_is_restarted_by_its_supervisor() -> None:
    source, got = Crashy(), []

    async def deliver(_: object, batch: list[Post]) -> None:
        got.extend(batch)

    sleeps = Sleeps()
    await supervise(source, deliver, sleep=sleeps)
    assert [p.id for p in got] == ["id1", "id2"]
    assert source.health.restarts == 1
    assert source.health.state == "finished"
    assert "KeyError" in source.health.last_error
    assert len(sleeps.delays) == 1


async def test_a_firehose_buffer_drops_its_oldest_posts_and_counts_them() -> None:
    buffer = SourceBuffer(3)
    assert buffer.put([post(i) for i in range(5)]) == 2
    assert [p.id for p in await buffer.take()] == ["id2", "id3", "id4"]


class Hose(Source):
    firehose = True

    def __init__(self, n: int) -> None:
        self.name, self.health, self.n = "hose", SourceHealth(), n

    async def stream(self) -> AsyncIterator[list[Post]]:
        for i in range(self.n):
            yield [post(i)]
            await asyncio.sleep(0)


async def test_a_slow_pipeline_makes_a_firehose_drop_not_block() -> None:
    source, got = Hose(200), []
    release = asyncio.Event()

    async def deliver(_: object, batch: list[Post]) -> None:
        await release.wait()  # the engine is stuck until the source has finished
        got.extend(batch)

    task = asyncio.create_task(supervise(source, deliver, buffer=50))
    await wait_for(lambda: source.health.dropped >= 100)
    release.set()
    await task
    assert len(got) + source.health.dropped == 200
    assert got[-1].id == "id199"  # the newest are kept


def test_dedup_counts_a_post_once_and_a_url_once_per_author() -> None:
    dedup = Dedup(capacity=100)
    first = dedup.fresh([post(1, "a", "https://x/1"), post(2, "b", "https://x/1"), post(1)])
    assert [p.id for p in first] == ["id1", "id2"]
    assert dedup.fresh([post(3, "a", "https://x/1"), post(4, "A", "https://x/1")]) == []


def test_recent_keys_memory_is_bounded() -> None:
    keys = RecentKeys(1000)
    for i in range(10_000):
        keys.seen(i)
    assert len(keys) <= 1000
    assert keys.seen(9_999)


async def test_follow_tails_a_growing_file_by_whole_lines(
    tmp_path: Path, make_post: PostFactory
) -> None:
    path = tmp_path / "grow.ndjson"
    path.write_bytes(orjson.dumps(make_post(T0, "one")) + b"\n{bad\n")
    second = orjson.dumps(make_post(T0 + 1, "two"))
    writes = [second[:10], second[10:] + b"\n"]

    async def sleep(_: float) -> None:  # the file grows each time the source waits
        if writes:
            with path.open("ab") as handle:
                handle.write(writes.pop(0))
        await asyncio.sleep(0)

    source = FollowSource("file:grow", path, sleep=sleep)
    posts = await collect(source, 2)
    assert [p.text for p in posts] == ["one", "two"]
    assert source.health.malformed == 1


async def test_a_refused_feed_shows_as_failed_in_readyz_and_metrics(
    mini_playbook: Playbook,
) -> None:
    fake = FakeJetstream(jetstream_feed(3), refusals=[(403, {})])
    async with serving(fake.app()) as server:
        source = JetstreamSource("js", str(server.make_url("/subscribe")))
        service = Service(
            [mini_playbook],
            [source],
            [],
            Settings(http=HttpSettings(port=0)),
            Wiring(registry=CollectorRegistry()),
        )
        async with running(service) as base, aiohttp.ClientSession() as http:
            await wait_for(lambda: source.health.state == "failed")
            async with http.get(f"{base}/readyz") as resp:
                status, body = resp.status, orjson.loads(await resp.read())
            async with http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
    assert status == 503
    assert body["source_health"]["js"]["state"] == "failed"
    assert "HTTP 403" in body["source_health"]["js"]["last_error"]
    assert 'groundswell_source_failed{source="js"} 1.0' in metrics
    assert 'groundswell_source_up{source="js"} 0.0' in metrics
