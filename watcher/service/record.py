"""`run --record FILE`: append every admitted post to a posts NDJSON file, rotated by size.

A live session recorded this way can be replayed and backtested later (`groundswell replay`),
which is how playbooks get tuned. The file is rotated like a log (`logging`'s
`RotatingFileHandler` naming): once the next batch would take it past `max_bytes`, it becomes
`FILE.1`, `FILE.1` becomes `FILE.2` and so on, and the oldest past `keep` files is deleted,
so a recording never fills the disk. Every file is whole lines, so each replays on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from watcher.post import Post, dump_post

MAX_BYTES = 256 * 2**20
KEEP = 4


class Recorder:
    """Appends posts, one line each, flushed per batch so a crash loses at most one batch."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        self.path = path
        self.max_bytes = max_bytes  # a file's size before it is rotated
        self.keep = keep  # rotated files kept beside the one being written
        self.written = 0
        self._file = path.open("ab")
        self._size = self._file.tell()

    def write(self, posts: Sequence[Post]) -> None:
        data = b"".join(dump_post(p) for p in posts)
        if self._size and self._size + len(data) > self.max_bytes:
            self._rotate()
        self._file.write(data)
        self._file.flush()
        self._size += len(data)
        self.written += len(posts)

    def _rotate(self) -> None:
        self._file.close()
        self.path.with_name(f"{self.path.name}.{self.keep}").unlink(missing_ok=True)
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.keep:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
        self._file = self.path.open("ab")
        self._size = 0

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
