"""Acceptance 4, 6 and 7: the broker restarted mid-run, a worker cut off by the network,
and late, out-of-order posts, each against replay's results."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.watcher.cluster.harness import (
    ingest,
    lines_of,
    scrape,
    settle,
    start_deliver,
    start_worker,
    stores_for,
)
from tests.watcher.cluster.natsd import NatsServer
from tests.watcher.cluster.proxy import Proxy
from watcher.cluster.layout import Layout
from watcher.cluster.metrics import WorkerCollector
from watcher.cluster.shards import by_shard
from watcher.cluster.worker import EXIT_LOST
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook


@pytest.mark.slow
async def test_a_broker_restart_mid_run_loses_nothing(
    tmp_path: Path, posts_file: Path, playbooks: Sequence[Playbook], replayed: list[bytes]
) -> None:
    server = NatsServer(tmp_path / "nats")  # our own: this test stops it
    server.start()
    # a TTL well past a restart on a loaded machine: a worker that cannot renew in time
    # rightly stops itself, and this test is about the broker coming back, not about that
    layout = Layout(name="restart", lease_ttl=12.0)
    url = server.url
    try:
        delivering = await start_deliver(url, layout, playbooks, tmp_path)
        workers = [await start_worker(url, layout, playbooks, f"w{n}") for n in range(2)]
        await ingest(url, layout, posts_file)  # the workers now read a backlog
        nc, _ = await stores_for(url, layout)
        js = nc.jetstream()
        async with asyncio.timeout(60):
            while (await js.stream_info(layout.alerts_stream)).state.messages < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await nc.close()
        server.stop()  # mid-run: some alerts out, more to come
        server.start()  # same port, same data directory
        await settle(url, layout)
        codes = [await w.halt() for w in workers]
        await delivering.halt()
    finally:
        server.stop()
    assert codes == [0, 0]
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(replayed)


async def test_a_worker_cut_off_stops_within_its_lease_and_another_takes_over(
    nats_server: NatsServer,
    cluster_name: str,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
) -> None:
    layout = Layout(name=cluster_name, lease_ttl=2.0)
    proxy = Proxy(nats_server.port)
    await proxy.start()
    delivering = await start_deliver(nats_server.url, layout, playbooks, tmp_path)
    cut_off = await start_worker(proxy.url, layout, playbooks, "cut-off")
    async with asyncio.timeout(30):
        while len(cut_off.worker.held) < 8:  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.05)
    await proxy.cut()
    loop = asyncio.get_running_loop()
    cut_at = loop.time()
    assert await cut_off.task == EXIT_LOST
    stopped_after = loop.time() - cut_at
    cut = await scrape(WorkerCollector(cut_off.worker), cut_off.worker.faults)
    assert cut.ready == 503  # /readyz says why it no longer works
    assert cut.faults == ["worker: stopping"]
    heir = await start_worker(nats_server.url, layout, playbooks, "heir")
    await ingest(nats_server.url, layout, posts_file)
    await settle(nats_server.url, layout)
    assert await heir.halt() == 0
    await delivering.halt()
    with contextlib.suppress(ConnectionResetError):  # its socket was cut under it
        await cut_off.nc.close()
    # it stopped before its leases can have expired on the server, so no two owners overlap
    assert stopped_after < layout.lease_ttl, stopped_after
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(replayed)


def shuffled(posts: Path, out: Path) -> Path:
    """The posts with one in 40 held back by 20 to 2,000 posts of the stream: late and out
    of order, as a slow feed delivers them."""
    rng = random.Random(7)
    result: list[bytes] = []
    held: list[tuple[int, bytes]] = []  # (released once this many posts are out, the post)
    for line in lines_of(posts):
        if rng.random() < 1 / 40:
            held.append((len(result) + rng.randint(20, 2000), line))
            continue
        result.append(line)
        result += [late for due, late in held if due <= len(result)]
        held = [(due, late) for due, late in held if due > len(result)]
    result += [late for _, late in held]
    out.write_bytes(b"".join(result))
    return out


async def test_late_posts_are_counted_per_shard_as_the_single_process_counts_them(
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    tmp_path: Path,
) -> None:
    posts = shuffled(posts_file, tmp_path / "late.ndjson")
    single = Engine(playbooks)
    single.feed_lines(lines_of(posts), source="replay")
    single.flush()
    assert single.stats.late > 0  # the file really has late posts
    late = single.stats.late_by  # per playbook; a shard's are its playbooks' own
    expected = [sum(late.get(p.name, 0) for p in mine) for mine in by_shard(playbooks, 8)]
    assert sum(expected) == single.stats.late
    workers = [await start_worker(nats_server.url, layout, playbooks, f"w{n}") for n in range(2)]
    await ingest(nats_server.url, layout, posts)
    await settle(nats_server.url, layout, deliverer=False)
    counted = [0] * 8
    for running in workers:
        for shard, held in running.worker.held.items():
            counted[shard] = held.late
    assert [await w.halt() for w in workers] == [0, 0]
    assert counted == expected
