"""The source contract: an async iterator of post batches, plus its health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from watcher.post import Post


@dataclass(slots=True)
class SourceHealth:
    """What `/readyz` and the metrics show about one source."""

    connected: bool = False
    finished: bool = False
    received: int = 0
    malformed: int = 0
    reconnects: int = 0
    last_event: float | None = None  # created_at of the newest post, epoch seconds
    last_error: str = ""


class Source(Protocol):
    """A feed. `stream()` yields batches of normalised posts until the feed ends or is closed."""

    name: str
    health: SourceHealth

    def stream(self) -> AsyncIterator[Sequence[Post]]: ...
