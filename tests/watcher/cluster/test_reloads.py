"""Playbook reloads in the cluster: `groundswell publish-playbooks` between two batches, and
every worker swaps the set in at that point of the stream, as one engine calling
`replace_playbooks` between the same two batches does; a restart after the reload goes on
with the reloaded set (from its checkpoint); a broken set publishes nothing; a checkpoint
from before reloads restores with the worker's own playbooks."""

from __future__ import annotations

import asyncio
import pickle
import re
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from responders.channels.ndjson import dump_alert
from tests.watcher.cluster.harness import (
    by_playbook,
    lines_of,
    pointers,
    settle,
    start_deliver,
    start_worker,
    stores_for,
)
from tests.watcher.cluster.natsd import NatsServer
from tests.watcher.cluster.processes import spawn_worker
from tests.watcher.cluster.test_failures import until, wait_exit
from watcher.cli import main
from watcher.cluster.batches import KIND, Batch, headers_for, line_batches
from watcher.cluster.checkpoints import ShardCheckpoints, read_state
from watcher.cluster.control import PLAYBOOKS, Reload, decode_reload, encode_reload, reload_id
from watcher.cluster.ingest import REPLAY_SOURCE, publish_batch
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.reloads import object_name, publish_set, set_digest
from watcher.cluster.shards import ShardGroup, by_shard, shard_of
from watcher.pipeline.decode import decode_lines
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook, check_playbooks
from watcher.service.checkpoint import snapshot

#: The reload goes in before this batch: past the first posts, before most surges.
AT_BATCH = 60
SHARDS = 8
COPY = "river-sewage-copy"


def reloaded_dir(folder: Path, playbooks_dir: Path) -> Path:
    """The new set: `toxic-waste-copy` removed, `river-sewage-new` added, `river-sewage`
    described anew (it keeps its state: its alerts say the new words), `river-sewage-copy`
    made more sensitive (its state starts again); the rest unchanged."""
    new = folder / "reloaded"
    new.mkdir()
    for path in sorted(playbooks_dir.glob("*.yaml")):
        if path.name == "copy-toxic-waste.yaml":
            continue
        text = path.read_text(encoding="utf-8")
        if path.name == "river-sewage.yaml":
            added = re.sub(r"^name: \S+", "name: river-sewage-new", text, count=1, flags=re.M)
            (new / "new-sewage.yaml").write_text(added, encoding="utf-8")
            text = text.replace("Community halls in our network", "Halls we can lend")
        if path.name == "copy-river-sewage.yaml":
            text = text.replace("sensitivity: medium", "sensitivity: high")
        (new / path.name).write_text(text, encoding="utf-8")
    return new


def batches_of(posts: Path) -> list[Batch]:
    return list(line_batches(posts.read_bytes().splitlines(keepends=True)))


def engine_alerts(
    before: Sequence[Playbook], after: Sequence[Playbook] | None, posts: Path, *, since: int = 0
) -> list[bytes]:
    """The oracle: one engine over the stream's batches, calling `replace_playbooks(after)`
    before batch `AT_BATCH` (0-based); the alerts from batch `since` on."""
    engine = Engine(before)
    out: list[bytes] = []
    for index, batch in enumerate(batches_of(posts)):
        if index == AT_BATCH and after is not None:
            engine.replace_playbooks(after)
        own = engine.own_handles
        engine.feed_decoded(decode_lines(batch.lines, source=REPLAY_SOURCE, own=own))
        alerts = engine.drain_alerts()
        if index >= since:
            out.extend(dump_alert(a) for a in alerts)
    engine.flush()
    out.extend(dump_alert(a) for a in engine.drain_alerts())
    return out


async def publish(js: JetStreamContext, layout: Layout, spec: str, batches: list[Batch]) -> None:
    for batch in batches:
        await publish_batch(js, layout, spec, batch, source=REPLAY_SOURCE)


async def flush(js: JetStreamContext, layout: Layout, spec: str) -> None:
    await js.publish(
        layout.posts_subject,
        b"",
        stream=layout.posts_stream,
        headers=headers_for(f"{spec}:flush", kind="flush"),
    )


def publish_playbooks(url: str, layout: Layout, folder: Path) -> int:
    """`groundswell publish-playbooks`, as an operator runs it (in a thread: it runs its own
    event loop)."""
    args = ["publish-playbooks", "--nats", url, "--cluster-name", layout.name]
    return main([*args, "--lease-ttl", str(layout.lease_ttl), "--playbooks", str(folder)])


async def checkpoint_sets(stores: Stores) -> list[str | None]:
    """The playbook set each shard's committed checkpoint names."""
    out = []
    for pointer in await pointers(stores, SHARDS):
        assert pointer is not None
        assert pointer.object is not None
        out.append(read_state((await stores.checkpoints.get(pointer.object)).data or b"").digest)
    return out


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_reload_mid_stream_gives_the_alerts_of_one_engine_reloaded_there(
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks_dir: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
    workers: int,
) -> None:
    url = nats_server.url
    folder = reloaded_dir(tmp_path, playbooks_dir)
    after = check_playbooks([folder]).playbooks
    expected = engine_alerts(playbooks, after, posts_file)
    assert by_playbook(engine_alerts(playbooks, None, posts_file)) == by_playbook(replayed)
    # the test means something: the reload changes the alerts, and not only by removing
    kept, reset = by_playbook(expected)["river-sewage"], by_playbook(expected).get(COPY, [])
    assert len(kept) == len(by_playbook(replayed)["river-sewage"])  # it kept its state
    assert all(b"Halls we can lend" in line for line in kept)  # and says the new words
    assert reset != by_playbook(replayed)[COPY]  # it started again

    running = [await start_worker(url, layout, playbooks, f"w{n}") for n in range(workers)]
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    spec = f"file:{posts_file}"
    batches = batches_of(posts_file)
    await publish(js, layout, spec, batches[:AT_BATCH])
    assert await asyncio.to_thread(publish_playbooks, url, layout, folder) == 0
    assert await asyncio.to_thread(publish_playbooks, url, layout, folder) == 0  # harmless
    await publish(js, layout, spec, batches[AT_BATCH:])
    await flush(js, layout, spec)
    await settle(url, layout)
    sets = await checkpoint_sets(stores)
    reload = await js.get_msg(layout.posts_stream, AT_BATCH + 1)
    await nc.close()
    in_force: dict[str, int] = {}  # what `groundswell_cluster_playbook_set` reports
    running_now = [
        rt.playbook.name for r in running for g in r.worker.groups for rt in g.engine.runtimes
    ]
    for r in running:
        for digest, shards in r.worker.sets().items():
            in_force[digest] = in_force.get(digest, 0) + shards
    codes = await asyncio.gather(*(r.halt() for r in running))
    await delivering.halt()
    assert codes == [0] * workers

    lines = lines_of(tmp_path / "alerts.ndjson")
    assert sorted(lines) == sorted(expected)
    assert by_playbook(lines) == by_playbook(expected)
    assert sum(r.worker.published for r in running) == len(expected)
    assert (reload.headers or {})[KIND] == PLAYBOOKS
    assert decode_reload(reload.data or b"").digest == set_digest(after)
    assert sets == [set_digest(after)] * SHARDS  # a restart would go on with the new set
    assert in_force == {set_digest(after): SHARDS}
    # each playbook of the new set runs once in the cluster (the added one too), no other
    assert sorted(running_now) == sorted(p.name for p in after)
    assert sum(r.worker.reloads for r in running) == workers  # one engine each


async def test_a_set_published_again_later_is_a_new_reload(
    nats_server: NatsServer, layout: Layout, playbooks: Sequence[Playbook]
) -> None:
    """A, B, then A again inside the dedup window: the revert is stored, not dropped as a
    duplicate of the first A; A again right after is the set in force, sent again."""
    nc, stores = await stores_for(nats_server.url, layout)
    js = nc.jetstream()
    a, b = list(playbooks), list(playbooks[:3])
    done = [await publish_set(js, layout, stores, s) for s in (a, b, a, a)]
    await nc.close()
    assert [(d.reload.n, d.stored, d.already) for d in done] == [
        (1, True, False),
        (2, True, False),
        (3, True, False),
        (3, False, True),
    ]
    assert done[0].reload.digest == done[2].reload.digest != done[1].reload.digest


@pytest.mark.slow
async def test_a_worker_killed_after_a_reload_restores_the_reloaded_set(
    nats_server: NatsServer,
    cluster_name: str,
    layout: Layout,
    posts_file: Path,
    playbooks_dir: Path,
    playbooks: Sequence[Playbook],
    tmp_path: Path,
) -> None:
    url = nats_server.url
    folder = reloaded_dir(tmp_path, playbooks_dir)
    after = check_playbooks([folder]).playbooks
    expected = engine_alerts(playbooks, after, posts_file)
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    spec = f"file:{posts_file}"
    batches = batches_of(posts_file)
    log = tmp_path / "workers.log"
    first = spawn_worker(url, cluster_name, playbooks_dir, log, layout.lease_ttl)
    heir = None
    try:
        await publish(js, layout, spec, batches[:AT_BATCH])
        assert await asyncio.to_thread(publish_playbooks, url, layout, folder) == 0
        await publish(js, layout, spec, batches[AT_BATCH : AT_BATCH + 12])

        async def checkpointed_after_the_reload() -> bool:
            found = await pointers(stores, SHARDS)
            return all(p is not None and p.seq > AT_BATCH + 1 for p in found)

        await until(checkpointed_after_the_reload)
        first.kill()
        assert await wait_exit(first) == -signal.SIGKILL
        # the heir is started with the old files: its shards' checkpoints say otherwise
        heir = spawn_worker(url, cluster_name, playbooks_dir, log, layout.lease_ttl)
        await publish(js, layout, spec, batches[AT_BATCH + 12 :])
        await flush(js, layout, spec)
        await settle(url, layout)
        heir.send_signal(signal.SIGTERM)
        assert await wait_exit(heir) == 0
    finally:
        for process in (first, heir):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        await delivering.halt()
        await nc.close()
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(expected)
    said = log.read_text()
    assert f"playbook set {set_digest(after)[:12]} in force at sequence {AT_BATCH + 1}" in said
    assert "from their checkpoint, not --playbooks'" in said


async def test_a_broken_playbook_dir_publishes_nothing(
    nats_server: NatsServer,
    layout: Layout,
    playbooks_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = reloaded_dir(tmp_path, playbooks_dir)
    broken = folder / "river-sewage.yaml"
    text = broken.read_text(encoding="utf-8")
    text = text.replace("sensitivity: medium", "sensitivity: extreme")
    broken.write_text(text, encoding="utf-8")
    nc, _ = await stores_for(nats_server.url, layout)  # the streams exist, empty
    code = await asyncio.to_thread(publish_playbooks, nats_server.url, layout, folder)
    printed = capsys.readouterr().out
    info = await nc.jetstream().stream_info(layout.posts_stream)
    await nc.close()
    stored = await _object_names(nats_server.url, layout)
    assert code == 1
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "sensitivity:" in t)
    assert re.search(rf"^{re.escape(str(broken))}:{line}:\d+: error: .*extreme", printed, re.M)
    assert "nothing published" in printed
    assert info.state.messages == 0
    assert stored == set()


async def test_a_checkpoint_from_before_reloads_restores_with_the_workers_playbooks(
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    tmp_path: Path,
) -> None:
    """Every shard's checkpoint written by the previous version (format 2: no set named)
    at batch `AT_BATCH`; a worker restores them with its `--playbooks` and goes on to give
    exactly the alerts one engine gives from there."""
    url = nats_server.url
    expected = engine_alerts(playbooks, None, posts_file, since=AT_BATCH)
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    spec = f"file:{posts_file}"
    batches = batches_of(posts_file)
    await publish(js, layout, spec, batches[:AT_BATCH])
    parts = by_shard(playbooks, SHARDS)
    group = ShardGroup(dict(enumerate(parts)), playbooks)
    for seq, batch in enumerate(batches[:AT_BATCH], 1):
        own = group.engine.own_handles
        group.feed(seq, decode_lines(batch.lines, source=REPLAY_SOURCE, own=own))
    for shard in range(SHARDS):
        snap = snapshot(group.engine, group.members[shard])
        old = pickle.dumps((2, group.seq, snap, group.stats_of(shard)))
        assert read_state(old).digest is None
        checkpoints = ShardCheckpoints(stores, shard, "previous-version", 0)
        await checkpoints.claim()
        await checkpoints.commit(group.seq, old)

    running = await start_worker(url, layout, playbooks, "w0")
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    await publish(js, layout, spec, batches[AT_BATCH:])
    await flush(js, layout, spec)
    await settle(url, layout)
    sets = await checkpoint_sets(stores)
    await nc.close()
    assert await running.halt() == 0
    await delivering.halt()
    assert expected  # alerts come after the checkpoint
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(expected)
    assert sets == [set_digest(playbooks)] * SHARDS
    stored = await _object_names(url, layout)
    assert object_name(set_digest(playbooks)) in stored  # for whoever restores them next


async def _object_names(url: str, layout: Layout) -> set[str]:
    nc, stores = await stores_for(url, layout)
    try:
        return {info.name for info in await stores.checkpoints.list()}
    except NotFoundError:  # nothing stored yet
        return set()
    finally:
        await nc.close()


def test_a_playbook_added_to_an_empty_shard_starts_where_one_engine_starts_it(
    playbooks: Sequence[Playbook], posts_file: Path
) -> None:
    """A group whose shards held no playbook still follows the stream's watermark, so the
    playbook a reload adds there starts counting where one engine would start it."""
    parts = by_shard(playbooks, SHARDS)
    empty = next(k for k in range(SHARDS) if not parts[k])
    name = next(f"added-{n}" for n in range(1000) if shard_of(f"added-{n}", SHARDS) == empty)
    added = [*playbooks, playbooks[0].model_copy(update={"name": name})]
    group = ShardGroup({empty: []}, playbooks)
    engine = Engine(playbooks)
    for seq, batch in enumerate(batches_of(posts_file)[:AT_BATCH], 1):
        group.feed(seq, decode_lines(batch.lines, source=REPLAY_SOURCE))
        engine.feed_decoded(decode_lines(batch.lines, source=REPLAY_SOURCE))
    assert group.reload(AT_BATCH + 1, set_digest(added), added, SHARDS) == {name: "added"}
    engine.replace_playbooks(added)
    assert group.members == {empty: frozenset({name})}
    (mine,) = group.engine.runtimes
    (theirs,) = (r for r in engine.runtimes if r.playbook.name == name)
    assert group.engine.watermark == engine.watermark > float("-inf")
    assert mine.first_start == theirs.first_start is not None


async def test_a_set_that_cannot_run_is_skipped_by_every_worker(
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
) -> None:
    """A reload naming a set the store does not hold (or cannot decode) changes nothing:
    both workers skip it, and the alerts are replay's."""
    url = nats_server.url
    running = [await start_worker(url, layout, playbooks, f"w{n}") for n in range(2)]
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    spec = f"file:{posts_file}"
    batches = batches_of(posts_file)
    await publish(js, layout, spec, batches[:AT_BATCH])
    await stores.checkpoints.put(object_name("0" * 64), b'{"format": 99}')
    for digest in ("f" * 64, "0" * 64):  # missing; stored under a digest it does not have
        reload = Reload(1, digest)
        await js.publish(
            layout.posts_subject,
            encode_reload(reload),
            stream=layout.posts_stream,
            headers=headers_for(reload_id(reload), kind=PLAYBOOKS),
        )
    await publish(js, layout, spec, batches[AT_BATCH:])
    await flush(js, layout, spec)
    await settle(url, layout)
    sets = await checkpoint_sets(stores)
    await nc.close()
    assert await asyncio.gather(*(r.halt() for r in running)) == [0, 0]
    await delivering.halt()
    assert sorted(lines_of(tmp_path / "alerts.ndjson")) == sorted(replayed)
    assert sets == [set_digest(playbooks)] * SHARDS
    assert sum(r.worker.reloads for r in running) == 0
