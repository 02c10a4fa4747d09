"""Acceptance 1: the cluster gives exactly `groundswell replay`'s alerts, for 1, 2 and 3
workers over 8 shards, and the same outbox rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.watcher.cluster.harness import (
    by_playbook,
    ingest,
    lines_of,
    outbox_rows,
    scrape,
    settle,
    start_deliver,
    start_worker,
)
from tests.watcher.cluster.natsd import NatsServer
from watcher.cli import main
from watcher.cluster.layout import Layout
from watcher.cluster.metrics import DelivererCollector, WorkerCollector
from watcher.cluster.shards import by_shard
from watcher.playbooks.model import Playbook


@pytest.fixture(scope="module")
def replay_outbox(
    tmp_path_factory: pytest.TempPathFactory, posts_file: Path, playbooks_dir: Path
) -> list[tuple[object, ...]]:
    outbox = tmp_path_factory.mktemp("replay-outbox") / "outbox.sqlite3"
    args = ["replay", str(posts_file), "--playbooks", str(playbooks_dir), "-q", "--deliver"]
    assert (
        main([*args, "--outbox", str(outbox), "--alerts-out", str(outbox.with_suffix(".nd"))]) == 0
    )
    return outbox_rows(outbox)


@pytest.mark.parametrize("workers", [1, 2, 3])
async def test_cluster_alerts_equal_replay(
    workers: int,
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    replay_outbox: list[tuple[object, ...]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="groundswell.cluster")
    assert sum(1 for shard in by_shard(playbooks, 8) if shard) >= 3  # really spread out
    url = nats_server.url
    running = [await start_worker(url, layout, playbooks, f"w{n}") for n in range(workers)]
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    published = await ingest(url, layout, posts_file)
    assert published.posts == len(lines_of(posts_file))
    await settle(url, layout)
    scraped = [await scrape(WorkerCollector(r.worker), r.worker.faults) for r in running]
    assert [one.ready for one in scraped] == [200] * workers, [one.faults for one in scraped]
    assert sum(one.samples[("groundswell_cluster_leases_held", "")] for one in scraped) == 8
    assert [one.samples[("groundswell_cluster_shards", "")] for one in scraped] == [8] * workers
    lags = [
        v for one in scraped for (name, _), v in one.samples.items() if name.endswith("lag_batches")
    ]
    assert lags == [0] * 8  # every shard has applied the whole stream
    positions = [
        v for one in scraped for (name, _), v in one.samples.items() if name.endswith("position")
    ]
    assert positions == [published.batches + 1] * 8  # every batch, then the flush
    delivered = await scrape(DelivererCollector(delivering.deliverer), delivering.deliverer.faults)
    assert delivered.ready == 200
    assert delivered.samples[("groundswell_cluster_leases_held", "")] == 1
    assert delivered.samples[("groundswell_cluster_alerts_delivered_total", "")] == len(replayed)
    # started together, the workers split the shards at once: none was taken twice
    taken = [r.getMessage() for r in caplog.records if " took shard " in r.getMessage()]
    assert len(taken) == 8, taken
    codes = await asyncio.gather(*(r.halt() for r in running))
    await delivering.halt()
    assert codes == [0] * workers
    if workers > 1:  # each worker did some of the work
        assert all(r.worker.published > 0 or not r.worker.held for r in running)
    lines = lines_of(tmp_path / "alerts.ndjson")
    assert sorted(lines) == sorted(replayed)
    assert by_playbook(lines) == by_playbook(replayed)
    rows = outbox_rows(tmp_path / "outbox.sqlite3")
    assert [r[0] for r in rows] == [r[0] for r in replay_outbox]
    assert rows == replay_outbox
