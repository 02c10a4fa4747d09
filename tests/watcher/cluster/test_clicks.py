""" "Not a campaign" clicks in the cluster: published by the deliverer from its outbox into
the posts stream, applied by every worker at that point of the stream, as a single engine
applying them between the same two batches does."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Sequence
from pathlib import Path

import pytest
from nats.js.errors import KeyNotFoundError

from responders.channels.ndjson import dump_alert
from responders.delivery.feedback import Feedback
from responders.delivery.outbox import Outbox
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
from watcher.cluster.batches import KIND, headers_for, line_batches
from watcher.cluster.checkpoints import read_state
from watcher.cluster.control import FALSE_ALARM, Click, decode_click
from watcher.cluster.feedback import CURSOR_KEY, ClickPublisher
from watcher.cluster.ingest import REPLAY_SOURCE, publish_batch
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.shards import ShardGroup, shard_of
from watcher.pipeline.decode import decode_lines
from watcher.pipeline.engine import Engine
from watcher.pipeline.own import own_handles
from watcher.playbooks.model import Playbook

NOT_CAMPAIGN = Feedback("not_campaign", "U1", "sam")
CLICKED = "river-sewage"
#: The clicks go in before this batch: past the first posts (there is event time to date
#: them by), before the playbook's surge. Four clicks: one alone does not change this
#: surge's alerts, four (the most strictness there is) change what they say.
AT_BATCH = 60
CLICKS = 4


def engine_alerts(
    playbooks: Sequence[Playbook], posts: Path, clicks: dict[int, list[str]]
) -> list[bytes]:
    """The oracle: one engine over the stream's batches, marking `clicks[k]`'s playbooks
    before batch k (0-based), as `groundswell replay` would with clicks."""
    engine = Engine(playbooks)
    own = own_handles(playbooks)
    out: list[bytes] = []
    for index, batch in enumerate(line_batches(posts.read_bytes().splitlines(keepends=True))):
        for playbook in clicks.get(index, []):
            engine.mark_false_alarm(playbook)
        engine.feed_decoded(decode_lines(batch.lines, source=REPLAY_SOURCE, own=own))
        out.extend(dump_alert(a) for a in engine.drain_alerts())
    engine.flush()
    out.extend(dump_alert(a) for a in engine.drain_alerts())
    return out


async def cursor_written(stores: Stores) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                await stores.state.get(CURSOR_KEY)
                return
            except KeyNotFoundError:
                await asyncio.sleep(0.05)


async def stream_holds(url: str, layout: Layout, last: int) -> None:
    nc, _ = await stores_for(url, layout)
    try:
        async with asyncio.timeout(20):
            while True:  # a condition in another process: polled
                info = await nc.jetstream().stream_info(layout.posts_stream)
                if info.state.last_seq >= last:
                    return
                await asyncio.sleep(0.05)
    finally:
        await nc.close()


async def test_a_click_mid_stream_gives_the_alerts_of_one_engine_clicked_there(
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
) -> None:
    url = nats_server.url
    expected = engine_alerts(playbooks, posts_file, {AT_BATCH: [CLICKED] * CLICKS})
    assert by_playbook(engine_alerts(playbooks, posts_file, {})) == by_playbook(replayed)
    # the test means something: without the clicks the playbook's alerts are not these
    assert by_playbook(expected)[CLICKED] != by_playbook(replayed)[CLICKED]
    assert by_playbook(expected)[f"{CLICKED}-copy"] == by_playbook(replayed)[f"{CLICKED}-copy"]

    running = [await start_worker(url, layout, playbooks, f"w{n}") for n in range(2)]
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    spec = f"file:{posts_file}"
    lines = posts_file.read_bytes().splitlines(keepends=True)  # noqa: ASYNC240 (a test's file)
    batches = list(line_batches(lines))
    for batch in batches[:AT_BATCH]:
        await publish_batch(js, layout, spec, batch, source=REPLAY_SOURCE)
    await cursor_written(stores)  # the deliverer started: clicks from now on are new
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for n in range(CLICKS):  # staff click "Not a campaign" on four alerts
        outbox.add_feedback(CLICKED, f"{CLICKED}-campaign-{n}", NOT_CAMPAIGN, now=0)
    outbox.close()
    await stream_holds(url, layout, AT_BATCH + CLICKS)  # the deliverer published them
    for batch in batches[AT_BATCH:]:
        await publish_batch(js, layout, spec, batch, source=REPLAY_SOURCE)
    await js.publish(
        layout.posts_subject,
        b"",
        stream=layout.posts_stream,
        headers=headers_for(f"{spec}:flush", kind="flush"),
    )
    await settle(url, layout)
    # the shard's checkpoint carries the stricter detector, as it carries everything else
    shard = shard_of(CLICKED, 8)
    pointer = (await pointers(stores, 8))[shard]
    assert pointer is not None
    assert pointer.object is not None
    state = (await stores.checkpoints.get(pointer.object)).data or b""
    await nc.close()
    codes = await asyncio.gather(*(r.halt() for r in running))
    await delivering.halt()
    assert codes == [0, 0]

    lines = lines_of(tmp_path / "alerts.ndjson")
    assert sorted(lines) == sorted(expected)
    assert by_playbook(lines) == by_playbook(expected)
    assert sum(r.worker.published for r in running) == len(expected)
    assert delivering.deliverer.clicks is not None
    assert delivering.deliverer.clicks.published == CLICKS

    snap = read_state(state).snap
    (fp_state,) = (s for name, (_, s) in snap.runtimes.items() if name == CLICKED)
    detector = pickle.loads(fp_state)["detector"]
    assert detector.strictness(snap.saved_at) > 1.5  # four clicks, decayed a few hours
    assert snap.false_alarms == CLICKS


async def published_clicks(url: str, layout: Layout) -> list[tuple[str, Click]]:
    """The click messages in the posts stream, with their `Nats-Msg-Id`."""
    nc, _ = await stores_for(url, layout)
    js = nc.jetstream()
    out: list[tuple[str, Click]] = []
    try:
        last = (await js.stream_info(layout.posts_stream)).state.last_seq
        for seq in range(1, last + 1):
            msg = await js.get_msg(layout.posts_stream, seq)
            headers = msg.headers or {}
            if headers.get(KIND) == FALSE_ALARM:
                out.append((headers["Nats-Msg-Id"], decode_click(msg.data or b"")))
    finally:
        await nc.close()
    return out


async def test_a_restarted_deliverer_neither_resends_nor_skips_a_click(
    nats_server: NatsServer, layout: Layout, tmp_path: Path
) -> None:
    url = nats_server.url
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add_feedback("waste", "waste-old", NOT_CAMPAIGN, now=0)  # before the cluster
    first = ClickPublisher(js, layout, stores, outbox)
    assert await first.publish() == 0  # history: judged by a detector the cluster lacks
    outbox.add_feedback("waste", "waste-1", NOT_CAMPAIGN, now=0)
    outbox.add_feedback("waste", "waste-1", NOT_CAMPAIGN, now=0)  # agreement, not a second
    outbox.add_feedback("sewage", "sewage-1", NOT_CAMPAIGN, now=0)
    assert await first.publish() == 2
    assert await first.publish() == 0
    before = await stores.state.get(CURSOR_KEY)

    outbox.add_feedback("waste", "waste-2", NOT_CAMPAIGN, now=0)  # made while it was down
    restarted = ClickPublisher(js, layout, stores, outbox)
    assert restarted.identity == first.identity
    assert await restarted.publish() == 1
    # a crash between the PubAck and the cursor's write: the cursor is one click behind
    await stores.state.put(CURSOR_KEY, before.value or b"")
    again = ClickPublisher(js, layout, stores, outbox)
    assert await again.publish() == 0  # the same row, the same id: the server drops it

    replaced = Outbox(tmp_path / "replaced.sqlite3")  # another outbox: row ids start again
    replaced.add_feedback("waste", "waste-elsewhere", NOT_CAMPAIGN, now=0)
    other = ClickPublisher(js, layout, stores, replaced)
    assert other.identity != first.identity
    assert await other.publish() == 0  # its stored clicks are history
    replaced.add_feedback("sewage", "sewage-2", NOT_CAMPAIGN, now=0)
    assert await other.publish() == 1
    outbox.close()
    replaced.close()
    await nc.close()

    clicks = await published_clicks(url, layout)
    assert [(c.n, c.campaign_id) for _, c in clicks] == [
        (1, "waste-1"),
        (2, "sewage-1"),
        (3, "waste-2"),
        (4, "sewage-2"),
    ]
    assert len({msg_id for msg_id, _ in clicks}) == 4


def test_a_click_counts_once_in_an_engine_even_if_published_twice(
    playbooks: Sequence[Playbook],
) -> None:
    """Past the stream's dedup window a re-published click is stored again: its `n`,
    not past the last applied, keeps it from counting twice."""
    shard = shard_of(CLICKED, 8)
    group = ShardGroup({shard: [p for p in playbooks if shard_of(p.name, 8) == shard]}, playbooks)
    line = b'{"id":"1","text":"sewage in the river","created_at":"2024-01-01T00:00:00Z"}\n'
    group.feed(1, decode_lines([line], source=REPLAY_SOURCE, own=own_handles(playbooks)))
    assert group.mark_false_alarm(2, Click(1, CLICKED, "c1")) == pytest.approx(1.25)
    assert group.mark_false_alarm(3, Click(1, CLICKED, "c1")) is None
    assert group.mark_false_alarm(4, Click(2, CLICKED, "c2")) == pytest.approx(1.5)
    assert group.mark_false_alarm(5, Click(3, "not-here", "c3")) is None
    assert group.engine.false_alarms_applied == 3
    assert group.seq == 5
