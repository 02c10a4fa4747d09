"""`groundswell worker`: take shards as leases allow, run their engines, publish alerts.

Three tasks: `_keep_leases` renews this worker's presence and shard leases every quarter
TTL, on its own so that nothing slow delays it; `_keep_balance` takes or gives up shards
toward a fair share (shards ÷ live workers, rounded up); `_read` follows the posts stream
from the oldest held shard's position with one ordered consumer, decodes each batch once
(a backlog up to ten batches at a time, as one: see `runs`) and feeds it to every group of
shards that has not applied it: normally one group, one
engine over all the worker's shards (`shards.ShardGroup`); a shard taken at an older
checkpoint catches up in a group of its own and joins the other when it reaches it.
Balancing and reading take turns under one lock, so a shard never changes hands mid-batch.

Start-up: a worker announces itself (its presence lease) first, and takes no shard until one
lease beat after that, while it loads its playbooks (`run(load=...)`): workers started
together then all count each other when they first balance and split the shards at once.
Otherwise the first to finish loading took every shard and, a moment later, checkpointed and
gave half away (pickling that state, rebuilding its matcher) for the other to restore.

A control message is applied alone, by every group whose next message it is: `flush`
closes every bucket; `false-alarm` makes the clicked playbook's detector stricter as of
the group's watermark (`ShardGroup.mark_false_alarm`), exactly where one engine applying
the click between the same two batches would; `playbooks` swaps in the playbook set it
names (`reloads`), fetched once from the Object Store, for the group's shards
(`ShardGroup.reload`), as `Engine.replace_playbooks` between the same two batches would; a
kind this version does not know is skipped, never fed as posts.

Which playbooks a shard runs: the set its checkpoint names (the stream's last reload before
that checkpoint), else, for a shard with no checkpoint yet or one from before reloads, the
worker's `--playbooks`, until the stream's next reload. So `--playbooks` is the cluster's
initial set: once a set has been published, a worker started with other files still runs
the published set wherever the stream or a checkpoint has it (it says so in its log), and a
change goes out with `groundswell publish-playbooks`, not by editing the files and
restarting. A worker stores its own set in the Object Store before it takes a shard, so
whoever restores that shard's checkpoint later can fetch it.

Order of effects for a batch: feed the engines, publish their alerts (each with its alert
key as `Nats-Msg-Id`, so a re-emission after a crash is dropped by the server), then commit
each shard's checkpoint at a flush, and every `checkpoint_batches` batches or when the
stream goes idle once `checkpoint_seconds` have passed since the last: pickling every
runtime costs ~1.6 s per full checkpoint at 1,000 playbooks, so a trickling stream must not
trigger one per pause. A crash anywhere re-runs from the last checkpoint and re-emits the
same alerts.

A worker that cannot renew a lease in time, or whose checkpoint is fenced out, stops itself
(exit status 3): another worker takes its shards from their last checkpoint. It never
publishes or commits on a lease that may have lapsed: if its own clock says the lease is no
longer certainly fresh (it was frozen, or too busy), it renews first, and a failed renewal
stops it before the effect.

Long because its three tasks share the held shards, their groups and the lock that orders
them; apart, each would reach into the others' state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from responders.alert import Alert, rfc3339
from responders.brief.brief import load_ranker
from responders.codec import encode
from watcher.cluster.batches import KIND, SOURCE, split_lines
from watcher.cluster.checkpoints import (
    Saved,
    ShardCheckpoints,
    decode_state,
    encode_state,
    read_state,
)
from watcher.cluster.control import FALSE_ALARM, FLUSH, PLAYBOOKS, decode_click, decode_reload
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.leases import Lease, LeaseLost, live_keys
from watcher.cluster.reloads import SetError, fetch_set, set_digest, store_set
from watcher.cluster.shards import ShardGroup, by_shard
from watcher.pipeline.decode import Decoded, decode_lines
from watcher.playbooks.model import Playbook

__all__ = ["EXIT_LOST", "Held", "Worker", "alert_id"]

log = logging.getLogger("groundswell.cluster")

EXIT_LOST = 3  # stopped itself: a lease or checkpoint was lost to another worker
IDLE_SECONDS = 0.5  # no batch for this long: commit what is applied, check the consumer
RETRY_SECONDS = 0.25  # between attempts while the broker is away
RUN_BATCHES = 10  # messages applied as one batch at most: ~5,000 posts, replay's 1 MiB


def runs(msgs: Sequence[Msg]) -> list[list[Msg]]:
    """`msgs` cut into runs that can be applied as one batch: consecutive posts batches of
    one source, at most `RUN_BATCHES` of them; a control message is a run of its own.

    A worker reads the stream's 500-post batches; fed to the engine one by one they cost
    about 1.5 µs a post more than replay's 1 MiB chunks (bench/README.md, issue 15 session
    7: the prefilter's automaton and the per-batch decode run eleven times as often), so a
    backlog is applied several messages at a time, as replay would.
    """
    out: list[list[Msg]] = []
    for msg in msgs:
        headers = msg.headers or {}
        if out and headers.get(KIND, "posts") == "posts":
            prev = out[-1][-1]
            before = prev.headers or {}
            if (
                len(out[-1]) < RUN_BATCHES
                and before.get(KIND, "posts") == "posts"
                and before.get(SOURCE, "") == headers.get(SOURCE, "")
                and msg.metadata.sequence.stream == prev.metadata.sequence.stream + 1
            ):
                out[-1].append(msg)
                continue
        out.append([msg])
    return out


def alert_id(alert: Alert) -> str:
    """The alerts stream's `Nats-Msg-Id`: the same alert re-detected gets the same id."""
    s = alert.surge
    return f"{s.campaign_id}|{s.kind}|{s.state}|{rfc3339(s.fired_at)}"


@dataclass
class Held:
    """A shard this worker leases: the group whose engine runs it, and its checkpoints."""

    shard: int
    lease: Lease
    group: ShardGroup
    checkpoints: ShardCheckpoints
    committed: int = 0  # the sequence of the last committed checkpoint
    committed_at: float = field(default_factory=time.monotonic)  # when (or when taken)

    @property
    def seq(self) -> int:
        """The last posts-stream sequence this shard has applied."""
        return self.group.seq

    @property
    def late(self) -> int:
        """Posts this shard's playbooks found late, as one process with only them would."""
        return self.group.stats_of(self.shard).late


@dataclass(frozen=True)
class Taken:
    """A shard just leased and claimed, with its last checkpoint, before it runs."""

    shard: int
    lease: Lease
    checkpoints: ShardCheckpoints
    seq: int  # the committed checkpoint's position (0: none yet)
    state: bytes | None


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
    checkpoint_seconds: float = 10.0
    held: dict[int, Held] = field(default_factory=dict)
    emitted: int = 0  # alerts published, re-emissions included
    published: int = 0  # alerts the server stored (not duplicates)
    reloads: int = 0  # playbook sets swapped in at a `playbooks` message (per group)

    @property
    def stream_last(self) -> int:
        """The posts stream's last sequence, as of the last batch read."""
        return self._position + self._pending

    def __post_init__(self) -> None:
        #: Playbook sets by digest: this worker's own, and those fetched for a reload or a
        #: checkpoint; and the sets that could not be run, with why (skipped for good).
        self._sets: dict[str, tuple[Playbook, ...]] = {}
        self._bad: dict[str, str] = {}
        self._stored = False  # this worker's own set is in the Object Store
        self._configure(self.playbooks)
        self._loaded = False  # the playbooks are known (`run` may be handed them late)
        self._unloaded: Exception | None = None  # why `load` failed: `run` raises it
        self._announced = -float("inf")  # when this worker's presence was first taken
        self._lock = asyncio.Lock()
        self._presence = Lease(
            self.stores.leases, f"worker.{self.owner}", self.owner, self.layout.lease_ttl
        )
        self.groups: list[ShardGroup] = []  # the held shards' engines, one per position
        self._rewind = asyncio.Event()
        self._position = 0  # the last stream sequence the reader handed out
        self._pending = 0  # batches after it, as the server said with that batch
        self._start = 1  # the sequence the current subscription was asked to start at
        self._first = 0  # the first sequence the current subscription delivered
        self._halt = asyncio.Event()  # stopping: `stop` was set, or one of the tasks ended
        #: Engines fed a batch whose alerts are not all published yet: a checkpoint now
        #: would lose them (the next owner must re-detect them from the last one).
        self._torn = False

    def _configure(self, playbooks: Sequence[Playbook]) -> None:
        self.playbooks = playbooks
        self.digest = set_digest(playbooks)  # the set of `--playbooks`: the initial one
        self._sets[self.digest] = tuple(playbooks)
        self._stored = False

    def sets(self) -> dict[str, int]:
        """The playbook sets in force here, by digest: how many held shards run each."""
        out: dict[str, int] = {}
        for held in self.held.values():
            out[held.group.digest] = out.get(held.group.digest, 0) + 1
        return out

    async def _set_of(self, digest: str) -> tuple[Playbook, ...] | None:
        """The playbook set `digest`, fetched once; None (and logged once) if it cannot be
        run. The broker being away is retried, never taken for a bad set: every worker
        must skip the same sets."""
        if digest in self._sets:
            return self._sets[digest]
        if digest in self._bad:
            return None
        while True:
            self._check_halt()
            try:
                playbooks = await fetch_set(self.stores, digest)
                break
            except SetError as exc:
                log.error("%s: playbook set %s cannot run: %s", self.owner, digest[:12], exc)
                self._bad[digest] = str(exc)
                return None
            except (NatsError, TimeoutError) as exc:
                log.warning("playbook set %s not fetched yet (%r); retrying", digest[:12], exc)
                await asyncio.sleep(RETRY_SECONDS)
        self._sets[digest] = playbooks
        if any(p.respond.resources for p in playbooks):
            await asyncio.to_thread(load_ranker)  # not at the first surge (see `_settle_in`)
        return playbooks

    async def run(
        self, stop: asyncio.Event, *, load: Callable[[], Sequence[Playbook]] | None = None
    ) -> int:
        """Work until `stop` is set (0: shards checkpointed and released) or a lease is
        lost (`EXIT_LOST`). `load`, if given, returns the playbooks (in place of those the
        worker was made with): it runs in a thread while the worker announces itself."""
        if not await self._presence.acquire():
            raise LeaseLost(f"worker id {self.owner} is in use")
        self._announced = asyncio.get_running_loop().time()
        try:
            lost = await self._work(stop, load)
            if self._unloaded is not None:
                raise self._unloaded
        except BaseException:  # the playbooks did not load, or the process is interrupted
            with contextlib.suppress(NatsError, TimeoutError):
                await asyncio.wait_for(self._presence.release(), IDLE_SECONDS)
            raise
        if lost:
            log.error("stopping: %s", lost[0])
            return EXIT_LOST
        async with self._lock:
            await self._release(list(self.held))
        await self._presence.release()
        return 0

    async def _work(
        self, stop: asyncio.Event, load: Callable[[], Sequence[Playbook]] | None
    ) -> list[BaseException]:
        """The three tasks, until one ends or `stop` is set; the leases lost, if any."""
        lost: list[BaseException] = []
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._until_halt(work))
                    for work in (
                        self._keep_leases(self._halt),
                        self._keep_balance(self._halt, load),
                        self._read(self._halt),
                    )
                ]
                tasks.append(group.create_task(self._until_halt(stop.wait())))
                await self._halt.wait()
                for task in tasks:
                    task.cancel()
        except* LeaseLost as group_error:
            lost.extend(group_error.exceptions)
        return lost

    def faults(self) -> list[str]:
        """What keeps this worker from doing its part now, for `/readyz`."""
        if self._halt.is_set():
            return ["worker: stopping"]
        if not self._loaded:
            return ["worker: loading the playbooks"]
        if not self._presence.fresh():
            return ["lease: this worker's presence is not held or not renewed in time"]
        return [
            f"lease: shard {k} is not renewed in time"
            for k, h in self.held.items()
            if not h.lease.fresh()
        ]

    async def _until_halt(self, work: Awaitable[object]) -> None:
        """Run `work`; when it ends (done, failed or cancelled) every other loop ends too.

        Cancellation alone is not enough: on Python 3.11 a cancel that lands as an inner
        `wait_for` completes is lost (the task carries on, `cancelling`), and a worker whose
        lease task had failed kept balancing: taking shards it never read, so a crashed
        cluster did not settle. Each loop also checks `_halt` at every turn."""
        try:
            await work
        finally:
            self._halt.set()

    # -- ownership -------------------------------------------------------------------------
    async def _keep_leases(self, stop: asyncio.Event) -> None:
        """Renew on a fixed beat, in a task of its own: nothing slow may delay it."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            await self._renew_all()
            await asyncio.sleep(max(0.0, self.layout.lease_ttl / 4 - (loop.time() - started)))

    async def _keep_balance(
        self, stop: asyncio.Event, load: Callable[[], Sequence[Playbook]] | None
    ) -> None:
        """Take or give up shards toward a fair share; listing the workers can be slow."""
        await self._settle_in(load)
        while not stop.is_set():
            try:
                fair = await self._fair_share()
                async with self._lock:
                    await self._rebalance(fair)
            except (NatsError, TimeoutError) as exc:  # the broker is away: balance later
                log.warning("cannot balance shards now (%r)", exc)
            await asyncio.sleep(self.layout.lease_ttl / 4)

    async def _settle_in(self, load: Callable[[], Sequence[Playbook]] | None) -> None:
        """Before the first balance: have the playbooks, and the ranker if they need it,
        and let one lease beat pass since this worker announced itself, so that workers
        started with it have announced themselves too (see the module's docstring). The
        leases task renews the presence meanwhile."""
        if load is not None:
            try:
                self._configure(await asyncio.to_thread(load))
            except Exception as exc:  # raised by `run` as it is, not in a task group's
                self._unloaded = exc
                self._halt.set()
                return
        self._loaded = True
        log.info("%s: %d playbooks in %d shards", self.owner, len(self.playbooks), self.shards)
        if any(p.respond.resources for p in self.playbooks):
            # only a brief with resources to rank needs scikit-learn (a 1.5-3 s import);
            # in a thread now, not at the first surge, where it would stall the renewals
            await asyncio.to_thread(load_ranker)
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self._announced + self.layout.lease_ttl / 4 - loop.time()))

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
        """Shards ÷ live workers (those whose presence lease is held), rounded up."""
        workers = await asyncio.wait_for(
            live_keys(self.js, self.stores.leases, self.layout.leases_bucket, "worker."),
            self.layout.lease_ttl,
        )
        return math.ceil(self.shards / max(len(workers), 1))

    async def _rebalance(self, fair: int) -> None:
        if not self._stored:  # before a checkpoint can name it
            await store_set(self.stores, self.playbooks)
            self._stored = True
        if len(self.held) > fair:
            await self._release(sorted(self.held)[fair:])
        # start the search at a per-worker offset, so workers do not race for shard 0
        offset = int(self.owner.encode().hex(), 16) % self.shards
        taken: list[Taken] = []
        for step in range(self.shards):
            if len(self.held) + len(taken) >= fair or self._halt.is_set():
                break
            shard = (offset + step) % self.shards
            if shard not in self.held:
                try:
                    if (one := await self._take(shard)) is not None:
                        taken.append(one)
                except (NatsError, TimeoutError):
                    await self._install(taken)  # keep what was taken before the broker left
                    raise
        await self._install(taken)

    async def _take(self, shard: int) -> Taken | None:
        """Lease `shard`, fence out its earlier owners and read its checkpoint."""
        lease = Lease(self.stores.leases, f"shard.{shard}", self.owner, self.layout.lease_ttl)
        if not await lease.acquire():
            return None
        assert lease.epoch is not None
        checkpoints = ShardCheckpoints(self.stores, shard, self.owner, lease.epoch)
        try:
            pointer = await checkpoints.claim()  # fences out every earlier owner first
            return Taken(shard, lease, checkpoints, pointer.seq, await checkpoints.load())
        except (NatsError, TimeoutError):  # the broker is away: let another try (or us later)
            await lease.release()
            raise

    async def _install(self, taken: Sequence[Taken]) -> None:
        """Run the shards just taken: one engine per checkpoint position (building an
        engine's matcher costs ~0.4 s at 1,000 playbooks, so not one per shard), each
        joined to a group already at its position and set."""
        saved: dict[int, Saved] = {t.shard: read_state(t.state) for t in taken if t.state}
        sets = {t.shard: self._checkpoint_set(saved.get(t.shard)) for t in taken}
        for seq, digest in sorted({(t.seq, sets[t.shard]) for t in taken}):
            here = [t for t in taken if t.seq == seq and sets[t.shard] == digest]
            everyone = await self._set_of(digest)
            if everyone is None:  # its set is gone from the store: the worker's own, said
                log.error(
                    "%s: shards %s: the set of their checkpoint cannot run; running "
                    "--playbooks' set %s instead",
                    self.owner, [t.shard for t in here], self.digest[:12],
                )  # fmt: skip
                digest, everyone = self.digest, tuple(self.playbooks)
            elif digest != self.digest:
                log.info(
                    "%s: shards %s run playbook set %s from their checkpoint, not "
                    "--playbooks' %s (publish-playbooks changes it)",
                    self.owner, [t.shard for t in here], digest[:12], self.digest[:12],
                )  # fmt: skip
            parts = by_shard(everyone, self.shards)
            group = ShardGroup({t.shard: parts[t.shard] for t in here}, everyone, digest)
            for t in here:
                if t.shard in saved:
                    decode_state(group, t.shard, saved[t.shard])
            group.seq = seq
            for t in here:
                self.held[t.shard] = Held(t.shard, t.lease, group, t.checkpoints, committed=seq)
                log.info(
                    "%s: took shard %d at sequence %d (epoch %s)",
                    self.owner, t.shard, seq, t.lease.epoch,
                )  # fmt: skip
            self._join(group)
            if seq < self._position:
                self._rewind.set()  # it must catch up: re-read from its position
        # loading took time: trust the leases from now, not from before
        await asyncio.gather(*(t.lease.renew() for t in taken))

    def _checkpoint_set(self, saved: Saved | None) -> str:
        """The set a shard restores with: its checkpoint's, else this worker's own."""
        return saved.digest if saved is not None and saved.digest else self.digest

    def _join(self, group: ShardGroup) -> None:
        """Merge `group` into one at the same position on the same playbook set, or keep it
        as a group of its own."""
        for other in self.groups:
            if other is not group and other.seq == group.seq and other.digest == group.digest:
                other.adopt(group)
                for shard in group.members:
                    self.held[shard].group = other
                if group in self.groups:
                    self.groups.remove(group)
                log.debug("%s: shards %s run in one engine", self.owner, sorted(other.members))
                return
        if group not in self.groups:
            self.groups.append(group)

    async def _release(self, shards: Sequence[int]) -> None:
        """Checkpoint `shards` and give them up (their engines' part goes in one step)."""
        gone = [self.held.pop(shard) for shard in shards]
        for held in gone:
            if held.lease.fresh():
                await self._commit(held)
        for group in {id(h.group): h.group for h in gone}.values():
            group.drop([h.shard for h in gone if h.group is group])
            if not group.members:
                self.groups.remove(group)
        for held in gone:
            await held.lease.release()
            log.info("%s: gave up shard %d at sequence %d", self.owner, held.shard, held.seq)

    async def _commit(self, held: Held) -> None:
        if held.seq == held.committed or self._torn:
            return
        await self._ensure_fresh(held.lease)
        seq = held.seq
        try:
            await held.checkpoints.commit(seq, encode_state(held.group, held.shard))
        except (NatsError, TimeoutError) as exc:  # the broker is away: commit later
            log.warning("shard %d: checkpoint at %d not written (%r)", held.shard, seq, exc)
            return
        held.committed = seq
        held.committed_at = time.monotonic()

    async def _ensure_fresh(self, lease: Lease) -> None:
        """Before an effect: a lease that may have lapsed by our clock (we were frozen, or
        too busy to renew) is renewed first. A successful compare-and-set proves nobody
        took it meanwhile; a failed one raises `LeaseLost` and nothing is published."""
        while not lease.fresh():
            self._check_halt()
            try:
                await lease.renew()
            except (NatsError, TimeoutError):  # the leases task stops us once it is too late
                await asyncio.sleep(RETRY_SECONDS)

    def _check_halt(self) -> None:
        """In a retry loop: stop retrying once the worker is stopping (see `_until_halt`)."""
        if self._halt.is_set():
            raise asyncio.CancelledError

    # -- the stream ------------------------------------------------------------------------
    async def _read(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.groups:
                await asyncio.sleep(IDLE_SECONDS)
                continue
            async with self._lock:  # a shard taken from here on is behind `_position`
                self._rewind.clear()
                self._start = min(g.seq for g in self.groups) + 1
                self._position = self._start - 1
                self._first = 0  # the first sequence this subscription delivers (not known yet)
            try:
                sub = await self.js.subscribe(
                    self.layout.posts_subject,
                    stream=self.layout.posts_stream,
                    ordered_consumer=True,
                    config=ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._start
                    ),
                )
            except (NatsError, TimeoutError) as exc:  # the broker is away: try again
                log.warning("cannot follow the posts stream yet (%r)", exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
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
                        if self._due(held):
                            await self._commit(held)
                if await self._stalled():
                    return  # the consumer is gone (a server restart): subscribe again
                continue
            taken = [msg]
            while sub.pending_msgs and len(taken) < RUN_BATCHES:  # already here: no wait
                taken.append(await sub.next_msg(timeout=IDLE_SECONDS))
            for run in runs(taken):
                async with self._lock:
                    await self._apply(run)
                await asyncio.sleep(0)  # a backlog must not starve the lease renewals

    async def _stalled(self) -> bool:
        try:
            info = await self.js.stream_info(self.layout.posts_stream)
        except (NatsError, TimeoutError):
            return False
        return info.state.last_seq > self._position

    async def _apply(self, run: Sequence[Msg]) -> None:
        """Apply a run of consecutive messages (see `runs`) as one batch: the engine's
        decisions do not depend on where batches are cut, only on the posts' order."""
        msg, seq = run[0], run[0].metadata.sequence.stream
        if len(run) > 1 and (len(self.groups) != 1 or self.groups[0].seq != seq - 1):
            for one in run:  # catching up or merging groups: one message at a time
                await self._apply([one])
            return
        last = run[-1].metadata
        self._position, self._pending = last.sequence.stream, last.num_pending or 0
        self._first = self._first or seq
        if any(g.seq < self._start - 1 for g in self.groups):
            self._rewind.set()  # taken behind this subscription's start: re-read for it
            return
        # Only a group whose next batch this is. At the head of a subscription, batches the
        # stream no longer holds are no gap to wait for.
        targets = [
            g for g in self.groups if g.seq == seq - 1 or (seq == self._first and g.seq < seq)
        ]
        if not targets:
            return
        seq = self._position
        headers = msg.headers or {}
        alerts: list[Alert] = []
        self._torn = True
        kind = headers.get(KIND, "posts")
        if kind == FLUSH:
            for group in targets:
                alerts.extend(group.flush(seq))
        elif kind == FALSE_ALARM:
            click = decode_click(msg.data)
            for group in targets:
                if (strictness := group.mark_false_alarm(seq, click)) is not None:
                    log.info(
                        "%s: not a campaign: %s (click %d); %s now needs %.2f× the "
                        "significance",
                        self.owner, click.campaign_id, click.n, click.playbook, strictness,
                    )  # fmt: skip
        elif kind == PLAYBOOKS:
            await self._reload(seq, decode_reload(msg.data).digest, targets)
        elif kind != "posts":  # from a newer version: applying it as posts would be wrong
            log.warning("%s: message %d of kind %r not known here; skipped", self.owner, seq, kind)
            for group in targets:
                group.seq = seq
        else:
            lines = [line for m in run for line in split_lines(m.data)]
            decoded: dict[frozenset[str], Decoded] = {}  # one decode per own-accounts set
            for group in targets:
                own = group.engine.own_handles
                if own not in decoded:
                    decoded[own] = decode_lines(lines, source=headers.get(SOURCE, ""), own=own)
                alerts.extend(group.feed(seq, decoded[own]))
        fed = [h for h in self.held.values() if h.group in targets]
        if alerts:
            for held in fed:
                await self._ensure_fresh(held.lease)
        await self._publish(alerts)
        self._torn = False
        for group in targets:
            if group in self.groups:  # not already merged into another target
                self._join(group)  # caught up with another group: one engine from now on
        for held in fed:
            many = seq - held.committed >= self.checkpoint_batches
            if kind == FLUSH or (many and self._due(held)):
                await self._commit(held)

    async def _reload(self, seq: int, digest: str, targets: Sequence[ShardGroup]) -> None:
        """Swap the playbook set `digest` in for `targets` at `seq` (a set already in force,
        or one that cannot run, leaves them as they are: only their position moves)."""
        changing = [g for g in targets if g.digest != digest]
        everyone = await self._set_of(digest) if changing else None
        for group in targets:
            if everyone is None or group.digest == digest:
                group.seq = seq
                continue
            before = group.digest
            outcome = group.reload(seq, digest, everyone, self.shards)
            self.reloads += 1
            counts: dict[str, int] = {}
            for what in outcome.values():
                counts[what] = counts.get(what, 0) + 1
            log.info(
                "%s: playbook set %s in force at sequence %d for shards %s (was %s): %s",
                self.owner, digest[:12], seq, sorted(group.members), before[:12],
                ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "none here",
            )  # fmt: skip
        if changing and everyone is None:
            log.error(
                "%s: playbook set %s at sequence %d skipped: %s",
                self.owner, digest[:12], seq, self._bad.get(digest, "it cannot run"),
            )  # fmt: skip

    def _due(self, held: Held) -> bool:
        return time.monotonic() - held.committed_at >= self.checkpoint_seconds

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
                    self._check_halt()
                    await asyncio.sleep(RETRY_SECONDS)
            self.emitted += 1
            self.published += not ack.duplicate
