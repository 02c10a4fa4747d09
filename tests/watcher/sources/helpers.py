from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from watcher.post import Post
from watcher.sources.base import Source
from watcher.sources.retry import Backoff


def fast_backoff() -> Backoff:
    return Backoff(initial=0.001, maximum=0.01)


class Sleeps:
    """An injected sleep that records each delay and only yields to the loop."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


async def collect(source: Source, count: int) -> list[Post]:
    """Read posts until `count` arrived or the source stops."""
    posts: list[Post] = []
    stream = source.stream()
    assert isinstance(stream, AsyncIterator)
    try:
        async for batch in stream:
            posts.extend(batch)
            if len(posts) >= count:
                break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return posts
