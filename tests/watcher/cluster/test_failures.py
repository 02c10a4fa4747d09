"""Acceptance 2 and 5: workers killed with SIGKILL at several points, and a zombie (SIGSTOP
past its lease, then SIGCONT), still give exactly replay's alerts; the zombie stops itself
and publishes nothing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from tests.responders.fake_slack import TOKEN, serving
from tests.watcher.cluster.harness import (
    ingest,
    lines_of,
    settle,
    slack_of_one_delivery,
    slack_traffic,
    start_deliver,
    stores_for,
)
from tests.watcher.cluster.natsd import NatsServer
from tests.watcher.cluster.processes import spawn_worker
from watcher.cluster.layout import Layout
from watcher.cluster.leases import live_keys
from watcher.cluster.worker import EXIT_LOST
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook

TTL = 3.0


WAIT = 60.0  # a generous bound on conditions, never a measured time


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(WAIT):
        while not await check():  # noqa: ASYNC110 (polling another process's state)
            await asyncio.sleep(0.05)


async def wait_exit(process: subprocess.Popen[bytes]) -> int:
    async with asyncio.timeout(WAIT):
        while process.poll() is None:  # noqa: ASYNC110 (a child process has no Event)
            await asyncio.sleep(0.05)
    return process.returncode


@pytest.mark.slow
async def test_workers_killed_at_several_points_give_the_same_alerts_and_slack_messages(
    nats_server: NatsServer,
    cluster_name: str,
    layout: Layout,
    posts_file: Path,
    playbooks_dir: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
) -> None:
    url = nats_server.url
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    slack = serving()
    fake, slack_url = await slack.__aenter__()
    delivering = await start_deliver(
        url, layout, playbooks, tmp_path, slack_token=TOKEN, slack_api_url=slack_url
    )
    log = tmp_path / "workers.log"
    workers = [spawn_worker(url, cluster_name, playbooks_dir, log, TTL) for _ in range(2)]

    async def leases_held() -> bool:
        try:
            shards = await live_keys(js, stores.leases, layout.leases_bucket, "shard.")
            return len(shards) == 8
        except Exception:
            return False

    async def alerts_at_least(n: int) -> bool:
        return (await js.stream_info(layout.alerts_stream)).state.messages >= n

    try:
        await until(leases_held)
        workers[0].kill()  # 1: holding shards, nothing applied yet
        workers.append(spawn_worker(url, cluster_name, playbooks_dir, log, TTL))
        published = asyncio.create_task(ingest(url, layout, posts_file))
        await until(lambda: alerts_at_least(1))
        workers[1].kill()  # 2: alerts published, checkpoints behind them
        workers.append(spawn_worker(url, cluster_name, playbooks_dir, log, TTL))
        await until(lambda: alerts_at_least(len(replayed) // 2))
        workers[2].kill()  # 3: mid-stream, after more alerts and checkpoints
        workers.append(spawn_worker(url, cluster_name, playbooks_dir, log, TTL))
        await published
        await settle(url, layout)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        codes = [await wait_exit(w) for w in workers]
        await delivering.halt()
        await nc.close()
        await slack.__aexit__(None, None, None)
    assert codes[:3] == [-signal.SIGKILL] * 3
    assert set(codes[3:]) <= {0, -signal.SIGTERM}  # the last may still be starting up
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(replayed)
    assert len(lines_of(tmp_path / "alerts.ndjson")) == len(replayed)  # each once
    engine = Engine(playbooks)  # the same alerts, delivered once by one process
    engine.feed_lines(lines_of(posts_file), source="replay")
    engine.flush()
    oracle = await slack_of_one_delivery(engine.drain_alerts(), playbooks, tmp_path)
    assert oracle  # Slack really was sent something
    assert slack_traffic(fake) == oracle  # each message once, through three kill -9s


@pytest.mark.slow
async def test_a_zombie_worker_stops_itself_and_publishes_nothing(
    nats_server: NatsServer,
    cluster_name: str,
    layout: Layout,
    posts_file: Path,
    playbooks_dir: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
) -> None:
    url = nats_server.url
    nc, stores = await stores_for(url, layout)
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    zombie_log, heir_log = tmp_path / "zombie.log", tmp_path / "heir.log"
    zombie = spawn_worker(url, cluster_name, playbooks_dir, zombie_log, TTL)

    async def owners() -> set[str]:
        """Who holds the shard leases ("" for a free one). A lease's value is its owner and a
        write count (`Lease`): the count differs between shards taken in different turns."""
        found = set()
        for shard in range(8):
            try:
                value = (await stores.leases.get(f"shard.{shard}")).value or b""
            except Exception:
                value = b""
            found.add(value.decode().rpartition(" ")[0])
        return found

    async def one_owner() -> bool:
        return len(held := await owners()) == 1 and "" not in held

    try:
        await until(one_owner)
        first = await owners()
        zombie.send_signal(signal.SIGSTOP)
        heir = spawn_worker(url, cluster_name, playbooks_dir, heir_log, TTL)
        await until(lambda: _taken_over(owners, first))
        await ingest(url, layout, posts_file)
        await settle(url, layout)
        zombie.send_signal(signal.SIGCONT)
        assert await wait_exit(zombie) == EXIT_LOST
        heir.send_signal(signal.SIGTERM)
        assert await wait_exit(heir) == 0
    finally:
        for process in (zombie, heir):
            if process.poll() is None:
                process.kill()
                process.wait()
        await delivering.halt()
        await nc.close()
    said = zombie_log.read_text()
    assert "stopping:" in said
    assert "worker: 0 alerts emitted, 0 stored" in said
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(replayed)


async def _taken_over(owners: Callable[[], Awaitable[set[str]]], first: set[str]) -> bool:
    now = await owners()
    return len(now) == 1 and "" not in now and now != first
