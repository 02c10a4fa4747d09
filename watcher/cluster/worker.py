"""`groundswell worker`: take shards as leases allow, run their engines, publish alerts.

Three tasks: `_keep_leases` renews this worker's presence and shard leases every quarter
TTL, on its own so that nothing slow delays it; `_keep_balance` takes or gives up shards
toward a fair share (shards ÷ live workers, rounded up); `_read` follows the posts stream
from the oldest held shard's position with one ordered consumer, decodes each batch once
and feeds it to every held shard that has not applied it. Balancing and reading take turns
under one lock, so a shard never changes hands mid-batch.

Order of effects for a batch: feed the engines, publish their alerts (each with its alert
key as `Nats-Msg-Id`, so a re-emission after a crash is dropped by the server), then, every
`checkpoint_batches` batches, when the stream goes idle and at a flush, commit each shard's
checkpoint. A crash anywhere re-runs from the last checkpoint and re-emits the same alerts.

A worker that cannot renew a lease in time, or whose checkpoint is fenced out, stops itself
(exit status 3): another worker takes its shards from their last checkpoint. It never
publishes or commits on a lease that may have lapsed: if its own clock says the lease is no
longer certainly fresh (it was frozen, or too busy), it renews first, and a failed renewal
stops it before the effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NoKeysError

from responders.alert import Alert, rfc3339
from responders.brief.brief import load_ranker
from responders.codec import encode
from watcher.cluster.batches import KIND, SOURCE, split_lines
from watcher.cluster.checkpoints import ShardCheckpoints, decode_state, encode_state
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.leases import Lease, LeaseLost
from watcher.cluster.shards import ShardEngine, by_shard
from watcher.pipeline.decode import decode_lines
from watcher.pipeline.own import own_handles
from watcher.playbooks.model import Playbook

__all__ = ["EXIT_LOST", "Held", "Worker", "alert_id"]

log = logging.getLogger("groundswell.cluster")

EXIT_LOST = 3  # stopped itself: a lease or checkpoint was lost to another worker
IDLE_SECONDS = 0.5  # no batch for this long: commit what is applied, check the consumer
RETRY_SECONDS = 0.25  # between attempts while the broker is away


def alert_id(alert: Alert) -> str:
    """The alerts stream's `Nats-Msg-Id`: the same alert re-detected gets the same id."""
    s = alert.surge
    return f"{s.campaign_id}|{s.kind}|{s.state}|{rfc3339(s.fired_at)}"


@dataclass
class Held:
    """A shard this worker leases: its engine and its checkpoints."""

    lease: Lease
    engine: ShardEngine
    checkpoints: ShardCheckpoints
    committed: int = 0  # the sequence of the last committed checkpoint
    committed_at: float = field(default_factory=time.monotonic)  # when (or when taken)


@dataclass
class Worker:
    nc: Client
    js: JetStreamContext
    layout: Layout
    stores: Stores
    playbooks: Sequence[Playbook]
    owner: str
    shards: int = 8
    checkpoint_batches: int = 200
    held: dict[int, Held] = field(default_factory=dict)
    emitted: int = 0  # alerts published, re-emissions included
    published: int = 0  # alerts the server stored (not duplicates)

    @property
    def stream_last(self) -> int:
        """The posts stream's last sequence, as of the last batch read."""
        return self._position + self._pending

    def __post_init__(self) -> None:
        self._by_shard = by_shard(self.playbooks, self.shards)
        self._own = own_handles(self.playbooks)
        self._lock = asyncio.Lock()
        self._presence = Lease(
            self.stores.leases, f"worker.{self.owner}", self.owner, self.layout.lease_ttl
        )
        self._rewind = asyncio.Event()
        self._position = 0  # the last stream sequence the reader handed out
        self._pending = 0  # batches after it, as the server said with that batch
        self._first = 0  # the first sequence the current subscription delivered

    async def run(self, stop: asyncio.Event) -> int:
        """Work until `stop` is set (0: shards checkpointed and released) or a lease is
        lost (`EXIT_LOST`)."""
        load_ranker()  # before any lease: a 1.5 s import mid-stream would outlast a renewal
        if not await self._presence.acquire():
            raise LeaseLost(f"worker id {self.owner} is in use")
        log.info("%s: %d playbooks in %d shards", self.owner, len(self.playbooks), self.shards)
        lost: list[BaseException] = []
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._keep_leases(stop)),
                    group.create_task(self._keep_balance(stop)),
                    group.create_task(self._read(stop)),
                ]
                await stop.wait()
                for task in tasks:
                    task.cancel()
        except* LeaseLost as group_error:
            lost.extend(group_error.exceptions)
        if lost:
            log.error("stopping: %s", lost[0])
            return EXIT_LOST
        async with self._lock:
            for shard in list(self.held):
                await self._release(shard)
        await self._presence.release()
        return 0

    # -- ownership -------------------------------------------------------------------------
    async def _keep_leases(self, stop: asyncio.Event) -> None:
        """Renew on a fixed beat, in a task of its own: nothing slow may delay it."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            await self._renew_all()
            await asyncio.sleep(max(0.0, self.layout.lease_ttl / 4 - (loop.time() - started)))

    async def _keep_balance(self, stop: asyncio.Event) -> None:
        """Take or give up shards toward a fair share; listing the workers can be slow."""
        while not stop.is_set():
            try:
                fair = await self._fair_share()
                async with self._lock:
                    await self._rebalance(fair)
            except (NatsError, TimeoutError) as exc:  # the broker is away: balance later
                log.warning("cannot balance shards now (%r)", exc)
            await asyncio.sleep(self.layout.lease_ttl / 4)

    async def _renew_all(self) -> None:
        """Renew every lease at once (one round trip, not one per shard)."""
        leases = [self._presence, *(h.lease for h in self.held.values())]
        beat = self.layout.lease_ttl / 4  # a renewal that takes longer is given up and retried
        results = await asyncio.gather(
            *(asyncio.wait_for(lease.renew(), beat) for lease in leases), return_exceptions=True
        )
        for lease, result in zip(leases, results, strict=True):
            if isinstance(result, LeaseLost):
                raise result
            if isinstance(result, NatsError | TimeoutError) and not lease.fresh():
                raise LeaseLost(f"{lease.key}: cannot renew in time ({result!r})")
            if isinstance(result, BaseException) and not isinstance(
                result, NatsError | TimeoutError
            ):
                raise result

    async def _fair_share(self) -> int:
        try:
            # a set: a key renewed while the listing runs can be listed twice
            workers = len({k for k in await self.stores.leases.keys() if k.startswith("worker.")})
        except NoKeysError:
            workers = 1
        return math.ceil(self.shards / max(workers, 1))

    async def _rebalance(self, fair: int) -> None:
        while len(self.held) > fair:
            await self._release(max(self.held))
        # start the search at a per-worker offset, so workers do not race for shard 0
        offset = int(self.owner.encode().hex(), 16) % self.shards
        for step in range(self.shards):
            if len(self.held) >= fair:
                break
            shard = (offset + step) % self.shards
            if shard not in self.held:
                await self._take(shard)

    async def _take(self, shard: int) -> None:
        lease = Lease(self.stores.leases, f"shard.{shard}", self.owner, self.layout.lease_ttl)
        if not await lease.acquire():
            return
        assert lease.epoch is not None
        checkpoints = ShardCheckpoints(self.stores, shard, self.owner, lease.epoch)
        pointer = await checkpoints.claim()  # fences out every earlier owner first
        engine = ShardEngine(shard, self._by_shard[shard], self.playbooks)
        state = await checkpoints.load()
        if state is not None:
            engine.seq = decode_state(engine.engine, state)
        await lease.renew()  # loading took time: trust the lease from now, not from before
        log.info("took shard %d at sequence %d (epoch %d)", shard, engine.seq, lease.epoch)
        self.held[shard] = Held(lease, engine, checkpoints, committed=pointer.seq)
        if engine.seq < self._position:
            self._rewind.set()  # it must catch up: re-read from its position

    async def _release(self, shard: int) -> None:
        held = self.held.pop(shard)
        if held.lease.fresh():
            await self._commit(held)
        await held.lease.release()
        log.info("gave up shard %d at sequence %d", shard, held.engine.seq)

    async def _commit(self, held: Held) -> None:
        if held.engine.seq == held.committed:
            return
        await self._ensure_fresh(held.lease)
        seq = held.engine.seq
        try:
            await held.checkpoints.commit(seq, encode_state(held.engine.engine, seq))
        except (NatsError, TimeoutError) as exc:  # the broker is away: commit later
            log.warning("shard %d: checkpoint at %d not written (%r)", held.engine.shard, seq, exc)
            return
        held.committed = seq
        held.committed_at = time.monotonic()

    @staticmethod
    async def _ensure_fresh(lease: Lease) -> None:
        """Before an effect: a lease that may have lapsed by our clock (we were frozen, or
        too busy to renew) is renewed first. A successful compare-and-set proves nobody
        took it meanwhile; a failed one raises `LeaseLost` and nothing is published."""
        while not lease.fresh():
            try:
                await lease.renew()
            except (NatsError, TimeoutError):  # the leases task stops us once it is too late
                await asyncio.sleep(RETRY_SECONDS)

    # -- the stream ------------------------------------------------------------------------
    async def _read(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.held:
                await asyncio.sleep(IDLE_SECONDS)
                continue
            self._rewind.clear()
            start = min(h.engine.seq for h in self.held.values()) + 1
            try:
                sub = await self.js.subscribe(
                    self.layout.posts_subject,
                    stream=self.layout.posts_stream,
                    ordered_consumer=True,
                    config=ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
                    ),
                )
            except (NatsError, TimeoutError) as exc:  # the broker is away: try again
                log.warning("cannot follow the posts stream yet (%r)", exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._position = start - 1
            self._first = 0  # the first sequence this subscription delivers (not known yet)
            try:
                await self._follow(sub, stop)
            finally:  # bounded: on a dead connection it must not hold up the stop
                with contextlib.suppress(NatsError, TimeoutError):
                    await asyncio.wait_for(sub.unsubscribe(), IDLE_SECONDS)

    async def _follow(self, sub: JetStreamContext.PushSubscription, stop: asyncio.Event) -> None:
        while not stop.is_set() and not self._rewind.is_set():
            try:
                msg = await sub.next_msg(timeout=IDLE_SECONDS)
            except (TimeoutError, NatsError):
                async with self._lock:
                    for held in list(self.held.values()):
                        await self._commit(held)
                if await self._stalled():
                    return  # the consumer is gone (a server restart): subscribe again
                continue
            async with self._lock:
                await self._apply(msg)
            await asyncio.sleep(0)  # a backlog must not starve the lease renewals

    async def _stalled(self) -> bool:
        try:
            info = await self.js.stream_info(self.layout.posts_stream)
        except (NatsError, TimeoutError):
            return False
        return info.state.last_seq > self._position

    async def _apply(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        self._position, self._pending = seq, msg.metadata.num_pending or 0
        self._first = self._first or seq
        # Only a shard whose next batch this is: one taken meanwhile at an older sequence
        # waits for the rewind (feeding it this batch would skip the ones between). At the
        # head of a subscription, batches the stream no longer holds are no gap to wait for.
        targets = [
            h
            for h in self.held.values()
            if h.engine.seq == seq - 1 or (h.engine.seq < seq - 1 and seq == self._first)
        ]
        if not targets:
            return
        headers = msg.headers or {}
        alerts: list[Alert] = []
        if headers.get(KIND, "posts") == "flush":
            for held in targets:
                alerts.extend(held.engine.flush(seq))
        else:
            busy = [h for h in targets if not h.engine.idle]
            batch = decode_lines(
                split_lines(msg.data) if busy else [], source=headers.get(SOURCE, ""), own=self._own
            )
            for held in targets:
                alerts.extend(held.engine.feed(seq, batch))
        if alerts:
            for held in targets:
                await self._ensure_fresh(held.lease)
        await self._publish(alerts)
        for held in targets:
            if headers.get(KIND) == "flush" or seq - held.committed >= self.checkpoint_batches:
                await self._commit(held)

    async def _publish(self, alerts: Sequence[Alert]) -> None:
        """Publish each alert until the server acks it. The engines have moved past these
        posts, so giving up would lose the alerts: a broker that stays away past the lease
        TTL makes the leases task stop the worker instead, and the next owner re-detects
        them from the last checkpoint (taken after an earlier publish, never before)."""
        for alert in alerts:
            while True:
                try:
                    ack = await self.js.publish(
                        self.layout.alerts_subject,
                        encode(alert),
                        stream=self.layout.alerts_stream,
                        headers={"Nats-Msg-Id": alert_id(alert)},
                    )
                    break
                except (NatsError, TimeoutError) as exc:  # a retry has the same id
                    log.warning("alert %s not acked yet (%r); retrying", alert_id(alert), exc)
                    await asyncio.sleep(RETRY_SECONDS)
            self.emitted += 1
            self.published += not ack.duplicate
