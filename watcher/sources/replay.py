"""Replay recorded posts (NDJSON), as fast as possible or paced on their event time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from watcher.post import Post
from watcher.sources.base import Source, SourceHealth, parse_counted

BATCH = 500


class ReplaySource(Source):
    """Yields posts from NDJSON lines in batches; malformed lines are counted and skipped.

    With `speed`, event time is replayed `speed` times faster than real time; the first
    `backfill` seconds of event time are replayed at once, to warm the baselines.
    """

    def __init__(
        self,
        name: str,
        lines: Callable[[], Iterable[bytes]],
        *,
        speed: float | None = None,
        backfill: float = 0.0,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed={speed} must be positive")
        self.name = name
        self.health = SourceHealth()
        self._lines = lines
        self._speed = speed
        self._backfill = backfill

    async def stream(self) -> AsyncIterator[list[Post]]:
        loop = asyncio.get_running_loop()
        self.health.connected = True
        self.health.state = "replaying"  # reading, paced or not, until `finished`
        batch: list[Post] = []
        anchor: tuple[float, float] | None = None  # (event time, loop time) when pacing began
        first: float | None = None
        try:
            for line in self._lines():
                post = parse_counted(line, self.health, self.name)
                if post is None:
                    continue
                ts = post.timestamp
                if first is None:
                    first = ts
                if self._speed is not None and ts >= first + self._backfill:
                    if anchor is None:
                        anchor = (ts, loop.time())
                    delay = anchor[1] + (ts - anchor[0]) / self._speed - loop.time()
                    if delay > 0:
                        if batch:
                            yield batch
                            batch = []
                        await asyncio.sleep(delay)
                batch.append(post)
                self.health.last_event = ts
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
                    await asyncio.sleep(0)  # let the pipeline run between batches
            if batch:
                yield batch
        finally:
            self.health.connected = False
            self.health.finished = True


def file_lines(path: Path) -> Callable[[], Iterable[bytes]]:
    def read() -> Iterable[bytes]:
        with path.open("rb") as handle:
            yield from handle

    return read
