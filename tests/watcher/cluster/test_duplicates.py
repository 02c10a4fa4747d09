"""Acceptance 3: republished batches are reported duplicate, and re-reading the stream from
an older sequence changes nothing."""

from __future__ import annotations

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
from watcher.cli import main
from watcher.cluster.batches import line_batches
from watcher.cluster.checkpoints import Pointer
from watcher.cluster.ingest import publish_batch
from watcher.cluster.layout import Layout
from watcher.cluster.metrics import IngestCollector
from watcher.playbooks.model import Playbook


def test_a_rerun_of_ingest_publishes_nothing_twice(
    nats_server: NatsServer, cluster_name: str, posts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["ingest", "--nats", nats_server.url, "--cluster-name", cluster_name]
    args += ["--source", f"file:{posts_file}"]
    assert main(args) == 0
    first = capsys.readouterr().err
    assert main(args) == 0  # resumes after its cursor: every line was published before
    again = capsys.readouterr().err
    posts = len(lines_of(posts_file))
    assert f"ingest: {posts:,} posts in" in first
    assert f"ingest: 0 posts in 0 batches, 1 duplicate, {posts:,} lines already published" in again


async def test_republished_batches_are_duplicates(
    nats_server: NatsServer, cluster_name: str, posts_file: Path
) -> None:
    layout = Layout(name=cluster_name)
    published = await ingest(nats_server.url, layout, posts_file, spec="file:x")
    scraped = await scrape(IngestCollector(published), list)  # as `ingest --metrics-port`
    assert scraped.ready == 200
    assert scraped.samples[("groundswell_cluster_posts_published_total", "")] == published.posts
    assert scraped.samples[("groundswell_cluster_ingest_cursor_line", "")] == published.posts
    assert scraped.samples[("groundswell_cluster_leases_held", "")] == 0  # released at the end
    nc, _ = await stores_for(nats_server.url, layout)
    js = nc.jetstream()
    try:
        before = (await js.stream_info(layout.posts_stream)).state.last_seq
        with posts_file.open("rb") as handle:
            stored = [await publish_batch(js, layout, "file:x", b) for b in line_batches(handle)]
        assert stored
        assert not any(stored)  # the server said duplicate for every one
        assert (await js.stream_info(layout.posts_stream)).state.last_seq == before
    finally:
        await nc.close()


async def test_reading_again_from_the_start_changes_nothing(
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
) -> None:
    url = nats_server.url
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    worker = await start_worker(url, layout, playbooks, "first")
    await ingest(url, layout, posts_file)
    await settle(url, layout)
    assert await worker.halt() == 0
    assert worker.worker.published == len(replayed)
    nc, stores = await stores_for(url, layout)
    for shard in range(8):  # forget every checkpoint: the next owner reads from sequence 1
        entry = await stores.state.get(f"checkpoint.shard-{shard}")
        old = Pointer.decode(entry.value or b"")
        await stores.state.put(entry.key, Pointer(old.epoch, "test", None, 0).encode())
    await nc.close()
    again = await start_worker(url, layout, playbooks, "second")
    await settle(url, layout)
    assert await again.halt() == 0
    await delivering.halt()
    assert again.worker.emitted == len(replayed)  # it detected every alert again
    assert again.worker.published == 0  # and the server dropped each as a duplicate
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(replayed)
