"""Leases in a KV bucket with a TTL: who owns a shard (or a feed) right now.

A lease is a key in the leases bucket, whose TTL (`Layout.lease_ttl`) deletes it unless the
owner renews it. Taking one is `create` (succeeds only if the key is absent or expired);
renewing is `update(last=revision)`, a compare-and-set, so an owner that lost the key cannot
renew it by accident. The revision at acquisition is the fencing epoch that the checkpoint
pointer records (`checkpoints`).

An owner also knows, by its own monotonic clock, when its lease may have expired: `fresh`
is False once `ttl × SAFETY` has passed since the last renewal was *sent*. A worker checks it
before publishing anything, so a process that was frozen (SIGSTOP, a long GC pause, a
suspended VM) and wakes after its lease expired publishes nothing before it notices.

A renewal can land on the server and still fail here: the caller gave up waiting
(`asyncio.wait_for`) or the reply was lost. Our revision is then stale, and the next
compare-and-set says "wrong last sequence" although nobody else took the key. So every write
carries a value of its own (owner and a write count), and on that answer the owner reads the
key: if it holds one of our recent values, the lease is still ours at the revision it shows.
Renewals of one lease run one at a time, so two callers never race each other's revision.

Who holds leases under a prefix (the live workers, `worker.*`) is read by `live_keys` from
the server's per-subject counts, not by `KeyValue.keys()`: see there.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from watcher.errors import GroundswellError

__all__ = ["SAFETY", "Lease", "LeaseLost", "live_keys"]

log = logging.getLogger("groundswell.cluster")

#: JetStream's error code for a conditional write on a subject whose last sequence differs.
WRONG_LAST_SEQUENCE = 10071

#: The share of the TTL an owner trusts its lease for after a renewal was sent: the rest is
#: margin for the renewal's round trip and for clocks that drift.
SAFETY = 0.75


class LeaseLost(GroundswellError, RuntimeError):
    """The lease expired or another process holds it: stop working on what it covers."""

    what = "lease"


class Lease:
    """One key of the leases bucket, held by `owner`."""

    def __init__(
        self,
        kv: KeyValue,
        key: str,
        owner: str,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kv = kv
        self.key = key
        self.owner = owner
        self.ttl = ttl
        self.clock = clock
        self.revision: int | None = None
        self.epoch: int | None = None  # the revision at acquisition: the fencing token
        self._sent_at = -float("inf")
        self._writes = itertools.count()
        self._tried: deque[bytes] = deque(maxlen=8)  # values we sent, landed or not
        self._lock = asyncio.Lock()

    @property
    def held(self) -> bool:
        return self.revision is not None

    def fresh(self) -> bool:
        """Whether the lease is certainly still ours by our own clock."""
        return self.held and self.clock() - self._sent_at < self.ttl * SAFETY

    def due(self) -> bool:
        """Whether it is time to renew: a quarter of the TTL since the last renewal."""
        return self.clock() - self._sent_at >= self.ttl / 4

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; True if we now do."""
        sent = self.clock()
        try:
            revision = await self.kv.create(self.key, self._next_value())
        except KeyWrongLastSequenceError:
            return False
        self.revision = self.epoch = revision
        self._sent_at = sent
        return True

    async def renew(self) -> None:
        """Extend the lease, or raise `LeaseLost` (and forget it) if it is no longer ours."""
        async with self._lock:
            if self.revision is None:
                raise LeaseLost(f"{self.key}: not held")
            sent = self.clock()
            try:
                try:
                    self.revision = await self._update(self.revision)
                except KeyWrongLastSequenceError:
                    landed = await self._our_revision()
                    if landed is None:
                        raise
                    self.revision = await self._update(landed)  # an earlier renewal landed
            except (KeyWrongLastSequenceError, KeyNotFoundError) as exc:
                self.revision = None
                raise LeaseLost(f"{self.key}: lost ({exc.description or 'expired'})") from None
            self._sent_at = sent

    def _next_value(self) -> bytes:
        value = f"{self.owner} {next(self._writes)}".encode()
        self._tried.append(value)
        return value

    async def _update(self, last: int) -> int:
        return await self.kv.update(self.key, self._next_value(), last=last)

    async def _our_revision(self) -> int | None:
        """The key's revision if it still holds a value we wrote, else None."""
        try:
            entry = await self.kv.get(self.key)
        except KeyNotFoundError:
            return None
        return entry.revision if entry.value in self._tried else None

    async def release(self) -> None:
        """Give the lease up now, so another process need not wait out the TTL. Best effort:
        if it cannot be deleted (the broker is away), the TTL frees it."""
        if self.revision is None:
            return
        revision, self.revision = self.revision, None
        try:
            for _ in range(2):
                try:
                    await self.kv.delete(self.key, last=revision)
                    return
                except KeyNotFoundError:
                    return  # already gone
                except (KeyWrongLastSequenceError, BadRequestError) as exc:
                    # nats-py reports a conditional delete's "wrong last sequence" as a
                    # plain 400; our last renewal may have landed unanswered (see above)
                    if isinstance(exc, BadRequestError) and exc.err_code != WRONG_LAST_SEQUENCE:
                        raise
                    landed = await self._our_revision()
                    if landed is None:
                        return  # taken by another: nothing of ours to release
                    revision = landed
        except (NatsError, TimeoutError) as exc:
            log.warning("%s: not released (%r); it expires by its TTL", self.key, exc)


async def live_keys(js: JetStreamContext, kv: KeyValue, bucket: str, prefix: str) -> set[str]:
    """The keys of `bucket` under `prefix` that hold a value now (not deleted, not expired).

    Not `KeyValue.keys()`: nats-py lists keys with a watch that stops at the first entry with
    nothing pending after it, and a key updated meanwhile (every lease is renewed each quarter
    TTL) is listed twice or not at all: 29 of 200 listings of three keys under renewal missed
    one here, so two workers started together each counted one worker and the first took
    every shard, to give half away a beat later. The stream's per-subject counts are one
    answer from the server; a released lease's subject holds its delete marker, so each
    listed key is read back."""
    root = f"$KV.{bucket}."
    info = await js.stream_info(f"KV_{bucket}", subjects_filter=f"{root}{prefix}>")
    names = [subject.removeprefix(root) for subject in info.state.subjects or {}]

    async def held(key: str) -> str | None:
        try:
            await kv.get(key)
        except KeyNotFoundError:  # deleted (released) or just expired
            return None
        return key

    return {key for key in await asyncio.gather(*map(held, names)) if key is not None}
