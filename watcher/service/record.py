"""`run --record FILE`: append every admitted post to a posts NDJSON file.

A live session recorded this way can be replayed and backtested later (`groundswell replay`),
which is how playbooks get tuned.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from watcher.post import Post, dump_post


class Recorder:
    """Appends posts, one line each, flushed per batch so a crash loses at most one batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._file = path.open("ab")

    def write(self, posts: Sequence[Post]) -> None:
        self._file.write(b"".join(dump_post(p) for p in posts))
        self._file.flush()
        self.written += len(posts)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
