"""Playbooks in shards, and one engine per worker over all the shards it holds.

A playbook belongs to shard `shard_of(name, shards)`, a stable hash of its name (not
Python's `hash`, which changes per process), so every worker agrees without talking.

A worker runs one unchanged `Engine` over the union of its shards' playbooks (a
`ShardGroup`), fed every batch of the stream in order, so its buckets, watermark and late
decisions equal the single process's for those playbooks, and its matcher, watermark and
decode are paid once per worker, not once per shard. Runtimes are per playbook already, so a
shard's checkpoint is its playbooks' runtimes plus the engine's watermark and own-post ids
(`checkpoints.encode_state`). A shard taken at another stream position (restored from an
older checkpoint) runs in a group of its own until it reaches a position another group is
at; then one group adopts the other (`Engine.adopt`), which is exact because a runtime's
buckets close on the watermark alone, and two engines over the same posts reach the same
watermark.

One thing the engine shares across playbooks is which post ids are the organisation's own
(to recognise reshares of them): the single process remembers them for *every* playbook's
own accounts, so a worker's engine is told all of them too, or a reshare could count
differently in the cluster.

A group runs one playbook set (`digest`, see `reloads`). At a `playbooks` control message
it swaps the new set in (`reload`), as `Engine.replace_playbooks` would in one process, and
its shards' members follow the new set: a playbook added in shard k is run by whoever holds
k, a removed one goes. Two groups merge only at the same position *and* set. A group is fed
every batch even while its shards hold no playbook: its watermark and the own posts it has
seen are the engine's as much as its runtimes are, and a playbook a reload adds starts
counting at that watermark, as it would in one process.

>>> shard_of("river-sewage", 8), shard_of("river-sewage", 8) == shard_of("river-sewage", 8)
(7, True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from responders.alert import Alert
from watcher.cluster.control import Click
from watcher.pipeline.decode import Decoded
from watcher.pipeline.engine import Engine, EngineStats
from watcher.pipeline.own import own_handles
from watcher.playbooks.model import Playbook

__all__ = ["DEFAULT_SHARDS", "ShardGroup", "by_shard", "shard_of"]

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


class ShardGroup:
    """One engine over the playbooks of the shards at one stream position, and that
    position (the last posts-stream sequence applied)."""

    def __init__(
        self,
        members: dict[int, Sequence[Playbook]],
        everyone: Sequence[Playbook],
        digest: str = "",
    ) -> None:
        self.everyone = tuple(everyone)
        self.digest = digest  # the playbook set this group runs (`reloads.set_digest`)
        self.engine = Engine([p for playbooks in members.values() for p in playbooks])
        self.engine.own_handles = own_handles(everyone)  # as the single process remembers
        self.members = {k: frozenset(p.name for p in pbs) for k, pbs in members.items()}
        self.alerts: dict[int, dict[str, int]] = {k: {"new": 0, "update": 0} for k in members}
        self.seq = 0

    @property
    def idle(self) -> bool:
        """No playbooks: a flush closes nothing (a batch still moves its watermark on)."""
        return not self.engine.runtimes

    def feed(self, seq: int, batch: Decoded) -> list[Alert]:
        self.engine.feed_decoded(batch)
        self.seq = seq
        return self._drain()

    def flush(self, seq: int) -> list[Alert]:
        if not self.idle:  # with no runtime a flush leaves the watermark where it is
            self.engine.flush()
        self.seq = seq
        return self._drain()

    def mark_false_alarm(self, seq: int, click: Click) -> float | None:
        """Apply a "Not a campaign" click at this point of the stream, once: a click at or
        before the last one applied (re-published after a deliverer's restart) is not
        counted again. The new strictness, or None if it changed nothing here (not one of
        these shards' playbooks, or no event time yet to date it by, as in one process)."""
        engine = self.engine
        self.seq = seq
        if engine.false_alarms_applied is not None and click.n <= engine.false_alarms_applied:
            return None
        engine.false_alarms_applied = click.n
        return engine.mark_false_alarm(click.playbook)

    def reload(
        self, seq: int, digest: str, everyone: Sequence[Playbook], shards: int
    ) -> dict[str, str]:
        """Swap in the playbook set `everyone` (`digest`) at this point of the stream, for
        this group's shards as the new set divides them; what happened to each of their
        playbooks (`Engine.replace_playbooks`: a kept one keeps its state)."""
        parts = by_shard(everyone, shards)
        outcome = self.engine.replace_playbooks([p for k in self.members for p in parts[k]])
        self.everyone = tuple(everyone)
        self.engine.own_handles = own_handles(everyone)
        self.members = {k: frozenset(p.name for p in parts[k]) for k in self.members}
        self.digest = digest
        self.seq = seq
        return outcome

    def _drain(self) -> list[Alert]:
        alerts = self.engine.drain_alerts()
        for alert in alerts:
            for shard, names in self.members.items():
                if alert.surge.playbook in names:
                    self.alerts[shard][alert.surge.kind] += 1
        return alerts

    def adopt(self, other: ShardGroup) -> None:
        """Take in `other`'s shards; it must be at the same position, on the same set."""
        if other.seq != self.seq:
            raise ValueError(f"merging a group at {other.seq} into one at {self.seq}")
        if other.digest != self.digest:
            raise ValueError(f"merging set {other.digest[:12]} into set {self.digest[:12]}")
        self.engine.adopt(other.engine)
        applied = (self.engine.false_alarms_applied, other.engine.false_alarms_applied)
        known = [a for a in applied if a is not None]  # both saw the same clicks: equal
        self.engine.false_alarms_applied = max(known) if known else None
        self.engine.own_handles = own_handles(self.everyone)
        mine, theirs = self.engine.stats, other.engine.stats
        for counts, more in (
            (mine.matched, theirs.matched),
            (mine.own_voice, theirs.own_voice),
            (mine.late_by, theirs.late_by),
        ):
            counts.update(more)
        mine.late += theirs.late
        for kind, n in theirs.alerts.items():
            mine.alerts[kind] = mine.alerts.get(kind, 0) + n
        self.members.update(other.members)
        self.alerts.update(other.alerts)

    def drop(self, shards: Sequence[int]) -> None:
        """Stop running `shards`' playbooks (given up: their checkpoints are written first)."""
        names = frozenset().union(*(self.members.pop(k) for k in shards))
        stats = self.engine.stats
        for shard in shards:
            for kind, n in self.alerts.pop(shard).items():
                stats.alerts[kind] -= n
        self.engine.replace_playbooks([p for p in self.engine.playbooks if p.name not in names])
        self.engine.own_handles = own_handles(self.everyone)
        stats.late -= sum(stats.late_by.pop(name, 0) for name in names)
        for name in names:
            stats.matched.pop(name, None)
            stats.own_voice.pop(name, None)

    def stats_of(self, shard: int) -> EngineStats:
        """The engine's counters as one shard's engine alone would have counted them: its
        playbooks' counts, and the stream's (received, malformed, refused) as they are."""
        names = self.members[shard]
        stats = self.engine.stats
        late_by = {n: c for n, c in stats.late_by.items() if n in names}
        return replace(
            stats,
            late=sum(late_by.values()),
            late_by=late_by,
            refused=dict(stats.refused),
            matched={n: c for n, c in stats.matched.items() if n in names},
            own_voice={n: c for n, c in stats.own_voice.items() if n in names},
            alerts=dict(self.alerts[shard]),
        )

    def restored(self, shard: int, stats: EngineStats) -> None:
        """After loading `shard`'s checkpoint into this group: add its counters (the
        stream's own, received and the like, are the same in every shard's)."""
        mine = self.engine.stats
        names = self.members[shard]
        mine.received, mine.malformed = stats.received, stats.malformed
        mine.refused, mine.last_error = dict(stats.refused), stats.last_error
        for counts, more in (
            (mine.matched, stats.matched),
            (mine.own_voice, stats.own_voice),
            (mine.late_by, stats.late_by),
        ):
            counts.update((n, c) for n, c in more.items() if n in names)
        mine.late += sum(c for n, c in stats.late_by.items() if n in names)
        for kind, n in stats.alerts.items():
            mine.alerts[kind] = mine.alerts.get(kind, 0) + n
        self.alerts[shard] = dict(stats.alerts)
