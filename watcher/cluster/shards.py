"""Playbooks in shards, and one shard's engine over the whole ordered posts stream.

A playbook belongs to shard `shard_of(name, shards)`, a stable hash of its name (not
Python's `hash`, which changes per process), so every worker agrees without talking. A
shard's engine is the unchanged `Engine` over only that shard's playbooks, fed every batch
of the stream in order, so its buckets, watermark and late decisions equal the single
process's for those playbooks.

One thing the engine shares across playbooks is which post ids are the organisation's own
(to recognise reshares of them): the single process remembers them for *every* playbook's
own accounts, so a shard's engine is told all of them too, or a reshare could count
differently in the cluster.

>>> shard_of("river-sewage", 8), shard_of("river-sewage", 8) == shard_of("river-sewage", 8)
(7, True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from responders.alert import Alert
from watcher.pipeline.decode import Decoded
from watcher.pipeline.engine import Engine
from watcher.pipeline.own import own_handles
from watcher.playbooks.model import Playbook

__all__ = ["DEFAULT_SHARDS", "ShardEngine", "by_shard", "shard_of"]

DEFAULT_SHARDS = 8


def shard_of(playbook: str, shards: int) -> int:
    """The shard a playbook name belongs to, the same in every process and version."""
    digest = hashlib.blake2b(playbook.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def by_shard(playbooks: Sequence[Playbook], shards: int) -> list[list[Playbook]]:
    """The playbooks of each shard, in their configured order."""
    out: list[list[Playbook]] = [[] for _ in range(shards)]
    for playbook in playbooks:
        out[shard_of(playbook.name, shards)].append(playbook)
    return out


class ShardEngine:
    """The engine of one shard and the stream sequence it has applied."""

    def __init__(self, shard: int, playbooks: Sequence[Playbook], everyone: Sequence[Playbook]):
        self.shard = shard
        self.engine = Engine(playbooks)
        self.engine.own_handles = own_handles(everyone)  # as the single process remembers
        self.seq = 0  # the last posts-stream sequence applied

    @property
    def idle(self) -> bool:
        """A shard with no playbooks: it applies nothing, only moves its sequence on."""
        return not self.engine.runtimes

    def feed(self, seq: int, batch: Decoded) -> list[Alert]:
        if not self.idle:
            self.engine.feed_decoded(batch)
        self.seq = seq
        return self.engine.drain_alerts()

    def flush(self, seq: int) -> list[Alert]:
        if not self.idle:
            self.engine.flush()
        self.seq = seq
        return self.engine.drain_alerts()
