"""`file:PATH?follow=1`: tail a growing posts NDJSON file, like `tail -F`.

Whole lines only (a line still being written waits for its newline); a file that shrinks
was truncated or replaced and is read again from the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from watcher.post import Post
from watcher.sources.base import Source, SourceHealth, parse_counted
from watcher.sources.retry import Sleep

CHUNK = 4 * 2**20


class FollowSource(Source):
    def __init__(
        self, name: str, path: Path, *, poll: float = 0.5, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.name = name
        self.path = path
        self.health = SourceHealth()
        self._poll = poll
        self._sleep = sleep
        self._position = 0
        self._partial = b""

    async def stream(self) -> AsyncIterator[list[Post]]:
        self.health.connected = True
        self.health.state = "connected"
        try:
            while True:
                data = self._read()
                if not data:
                    await self._sleep(self._poll)
                    continue
                lines = (self._partial + data).split(b"\n")
                self._partial = lines.pop()
                posts = self._parse(lines)
                if posts:
                    yield posts
        finally:
            self.health.connected = False

    def _read(self) -> bytes:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return b""
        if size < self._position:
            self._position, self._partial = 0, b""
        if size == self._position:
            return b""
        with self.path.open("rb") as handle:
            handle.seek(self._position)
            data = handle.read(CHUNK)
        self._position += len(data)
        return data

    def _parse(self, lines: list[bytes]) -> list[Post]:
        posts = []
        for line in lines:
            post = parse_counted(line, self.health, self.name)
            if post is None:
                continue
            self.health.last_event = post.timestamp
            posts.append(post)
        return posts
