"""A shard's engine state in the Object Store, behind a pointer in KV that fences zombies.

A shard's state (its playbooks' part of the same `watcher.service.checkpoint.Snapshot` the
single process keeps in SQLite, plus its counters and the stream sequence applied) can be
far over KV's 1 MiB value cap, so it goes to the Object Store under a name that carries the
owner's epoch and the sequence; a checkpoint is *committed* only when the pointer key
`checkpoint.shard-K` in the state bucket is moved to it by `update(last=revision)`.

Fencing: a new owner first rewrites the pointer with its own epoch (`claim`) before it
processes anything. An old owner that wakes up later (a zombie) still holds the revision it
last wrote, so its next commit fails its compare-and-set and it stops: whatever it put in
the Object Store is never pointed to, and is deleted.

A checkpoint names the playbook set its shard ran (`reloads`): whoever restores the shard
runs that set, fetched from the Object Store, not its own `--playbooks`, so a restart after
a reload goes on with the reloaded set. A checkpoint from before reloads (format 1 or 2)
names none: it restores with the worker's `--playbooks`, as it always did.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass

import orjson
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.object_store import ObjectStore

from watcher.cluster.layout import Stores
from watcher.cluster.leases import LeaseLost
from watcher.cluster.shards import ShardGroup
from watcher.pipeline.engine import EngineStats
from watcher.service.checkpoint import Snapshot, restore, snapshot

__all__ = [
    "FORMAT",
    "Pointer",
    "Saved",
    "ShardCheckpoints",
    "decode_state",
    "encode_state",
    "read_state",
]

log = logging.getLogger("groundswell.cluster")


@dataclass(frozen=True, slots=True)
class Pointer:
    """What `checkpoint.shard-K` holds: who owns the shard and its last committed state."""

    epoch: int
    owner: str
    object: str | None  # None: no state committed yet (start from the stream's beginning)
    seq: int  # the posts-stream sequence the committed state has applied

    def encode(self) -> bytes:
        return orjson.dumps(
            {"epoch": self.epoch, "owner": self.owner, "object": self.object, "seq": self.seq}
        )

    @classmethod
    def decode(cls, data: bytes) -> Pointer:
        raw = orjson.loads(data)
        return cls(int(raw["epoch"]), str(raw["owner"]), raw["object"], int(raw["seq"]))


#: 2: a shard's part of a worker's one engine, with its playbooks' own late counts;
#: 3: and the digest of the playbook set it ran
FORMAT = 3


@dataclass(frozen=True, slots=True)
class Saved:
    """A shard's checkpoint, unpickled: its position, engine part, counters and set."""

    version: int
    seq: int
    snap: Snapshot
    stats: EngineStats
    digest: str | None  # None: written before reloads (run the worker's own playbooks)


def encode_state(group: ShardGroup, shard: int) -> bytes:
    """Shard `shard`'s part of the group's engine (its playbooks' runtimes, the engine's
    watermark and own-post ids), its counters and playbook set, after the group's position."""
    snap = snapshot(group.engine, group.members[shard])
    state = (FORMAT, group.seq, snap, group.stats_of(shard), group.digest)
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


def read_state(data: bytes) -> Saved:
    """What `encode_state` wrote (or an older version's format 1 or 2)."""
    version, seq, snap, stats, *rest = pickle.loads(data)  # noqa: S301 (our own objects)
    if version not in (1, 2, FORMAT) or not isinstance(snap, Snapshot):
        raise ValueError(f"checkpoint format {version!r}, this version reads 1 to {FORMAT}")
    if not isinstance(stats, EngineStats):
        raise ValueError(f"checkpoint counters of type {type(stats).__name__}")
    if version == 1:  # one engine per shard, which counted late posts for the shard only
        stats.late_by = {}
    digest = str(rest[0]) if version >= 3 and rest else None
    return Saved(int(version), int(seq), snap, stats, digest)


def decode_state(group: ShardGroup, shard: int, saved: Saved) -> None:
    """Load a shard's checkpoint into a fresh group (made with the checkpoint's set), and
    its position."""
    restore(group.engine, saved.snap)
    group.restored(shard, saved.stats)
    group.seq = saved.seq


class ShardCheckpoints:
    """The checkpoints of one shard, written by the owner of lease epoch `epoch`."""

    def __init__(self, stores: Stores, shard: int, owner: str, epoch: int) -> None:
        self.stores = stores
        self.key = f"checkpoint.shard-{shard}"
        self.shard = shard
        self.owner = owner
        self.epoch = epoch
        self.revision: int | None = None
        self.pointer: Pointer | None = None

    async def claim(self) -> Pointer:
        """Fence out every earlier owner: rewrite the pointer with our epoch. Returns it
        (with the last committed state's object and sequence); `LeaseLost` if a newer
        epoch holds it.

        The previous owner's last commit can land between our read and our write (it
        checked its lease before a slow Object Store put, and the lease lapsed meanwhile):
        that is no reason to give up, since its epoch is older than ours. Read again and
        retry; its later writes fail their compare-and-set against ours."""
        kv = self.stores.state
        while True:
            try:
                entry = await kv.get(self.key)
            except KeyNotFoundError:
                entry = None
            old = Pointer.decode(entry.value) if entry is not None and entry.value else None
            if old is not None and old.epoch > self.epoch:
                raise LeaseLost(
                    f"shard {self.shard}: epoch {old.epoch} owns it, ours is {self.epoch}"
                )
            mine = Pointer(
                self.epoch, self.owner, old.object if old else None, old.seq if old else 0
            )
            try:
                if entry is None:
                    self.revision = await kv.create(self.key, mine.encode())
                else:
                    assert entry.revision is not None
                    self.revision = await kv.update(self.key, mine.encode(), last=entry.revision)
            except KeyWrongLastSequenceError:
                log.info(
                    "shard %d: its checkpoint pointer moved under the claim; again", self.shard
                )
                continue
            self.pointer = mine
            return mine

    async def load(self) -> bytes | None:
        """The committed state's bytes, or None when there is none."""
        if self.pointer is None or self.pointer.object is None:
            return None
        result = await self.stores.checkpoints.get(self.pointer.object)
        return result.data

    async def commit(self, seq: int, state: bytes) -> None:
        """Store `state` (applied up to `seq`) and point to it; `LeaseLost` if fenced out."""
        if self.revision is None or self.pointer is None:
            raise LeaseLost(f"shard {self.shard}: not claimed")
        name = f"shard-{self.shard}-e{self.epoch}-s{seq}"
        store = self.stores.checkpoints
        await store.put(name, state)
        pointer = Pointer(self.epoch, self.owner, name, seq)
        try:
            self.revision = await self.stores.state.update(
                self.key, pointer.encode(), last=self.revision
            )
        except KeyWrongLastSequenceError:
            self.revision = None
            await _forget(store, name)
            raise LeaseLost(f"shard {self.shard}: fenced out (a newer owner claimed it)") from None
        previous, self.pointer = self.pointer, pointer
        if previous.object and previous.object != name:
            await _forget(store, previous.object)


async def _forget(store: ObjectStore, name: str) -> None:
    try:
        await store.delete(name)
    except NotFoundError:
        log.debug("checkpoint object %s already gone", name)
