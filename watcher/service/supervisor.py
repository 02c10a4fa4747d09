"""Runs one source for the service: restarts it after a crash, buffers a firehose.

The reconnect loop (`retry.py`) handles the feed's expected failures; this is the layer for
the unexpected ones (a bug, a parser blowing up on input nobody foresaw), so a source that
crashes is restarted after a backoff and never takes the service down.

A firehose (`Source.firehose`: Jetstream, Mastodon) cannot be slowed down: while the
pipeline is behind, its posts wait in a bounded buffer and the oldest are dropped and counted.
Pollers and files have no buffer: waiting on the pipeline simply slows them down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence

from watcher.post import Post
from watcher.sources.base import Batch, Source
from watcher.sources.retry import Backoff, Sleep

log = logging.getLogger("groundswell.sources")

#: Posts a firehose may have waiting before the oldest are dropped.
FIREHOSE_BUFFER = 50_000
#: How long shutdown may spend handing on a firehose's buffered posts.
SHUTDOWN_FLUSH_S = 5.0
#: Most posts handed downstream in one batch.
BATCH = 1_000

#: Where a source's batches go, each stamped with when it arrived.
Deliver = Callable[[Source, Batch], Awaitable[None]]


class SourceBuffer:
    """A bounded queue of posts that drops the oldest when full."""

    def __init__(self, capacity: int = FIREHOSE_BUFFER) -> None:
        if capacity < 1:
            raise ValueError(f"capacity={capacity} must be at least 1")
        self.capacity = capacity
        self._posts: deque[Post] = deque()
        self._ready = asyncio.Event()
        self._handed = asyncio.Event()  # set when a take() left the buffer empty

    def put(self, posts: Sequence[Post]) -> int:
        """Add posts; return how many old ones were dropped to make room."""
        self._posts.extend(posts)
        dropped = max(len(self._posts) - self.capacity, 0)
        for _ in range(dropped):
            self._posts.popleft()
        if self._posts:
            self._ready.set()
        return dropped

    async def take(self, most: int = BATCH) -> list[Post]:
        while not self._posts:
            self._ready.clear()
            await self._ready.wait()
        batch = [self._posts.popleft() for _ in range(min(most, len(self._posts)))]
        if not self._posts:
            self._handed.set()
        return batch

    async def drained(self) -> None:
        """Wait until everything put has been taken."""
        while self._posts:
            self._handed.clear()
            await self._handed.wait()

    def __len__(self) -> int:
        return len(self._posts)


async def _run(
    source: Source,
    sink: Callable[[Batch], Awaitable[None]],
    backoff: Backoff,
    sleep: Sleep,
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        delivered = False
        stream = source.stream()
        try:
            async for batch in stream:
                await sink(Batch.stamped(batch, loop.time()))
                delivered = True
        except Exception as exc:  # a broken source must never take the service down
            if delivered:
                backoff.reset()
            delay = backoff.next()
            source.health.connected = False
            source.health.state = "restarting"
            source.health.restarts += 1
            source.health.last_error = repr(exc)
            log.exception("source %s crashed; restarting in %.1f s", source.name, delay)
            await sleep(delay)
            continue
        finally:
            if isinstance(stream, AsyncGenerator):  # close the feed's connection now
                await stream.aclose()
        if source.health.state != "failed":
            source.health.state = "finished"
        log.info("source %s finished (%s)", source.name, source.health.state)
        return


async def supervise(
    source: Source,
    deliver: Deliver,
    *,
    buffer: int = FIREHOSE_BUFFER,
    backoff: Backoff | None = None,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Run `source` until it finishes (or fails fatally), handing its posts to `deliver`."""
    backoff = backoff or Backoff(initial=1.0, maximum=60.0)
    if not source.firehose:
        await _run(source, lambda batch: deliver(source, batch), backoff, sleep)
        return

    pending = SourceBuffer(buffer)
    loop = asyncio.get_running_loop()

    async def fill(batch: Batch) -> None:
        source.health.dropped += pending.put(batch)

    async def take() -> Batch:  # buffered posts count as received when they leave the buffer
        posts = await pending.take()
        return Batch(posts, loop.time())

    async def forward() -> None:
        while True:
            await deliver(source, await take())

    forwarder = asyncio.create_task(forward(), name=f"forward:{source.name}")
    try:
        await _run(source, fill, backoff, sleep)
        await pending.drained()  # hand on what is left before finishing
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwarder
        # At shutdown, hand on what the source already read: its resume cursor has moved
        # past these posts, so dropping them here would lose them for good.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_FLUSH_S):
                while pending:
                    await deliver(source, await take())
