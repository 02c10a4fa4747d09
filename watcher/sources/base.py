"""The source contract: an async iterator of post batches, plus its health.

`Source` declares every member the service reads from a source, with the defaults most feeds
want: a feed subclasses it to inherit them (`class RssSource(Source)`) and overrides what
differs, so callers use `source.firehose` directly. A source fed over HTTP (ingest) has its
route built in `watcher/http/`, the only place that routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from watcher.post import Post, PostError, parse_post_line


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of a batch's posts in the engine: too late for their bucket, or refused
    as far outside the current window."""

    late: int = 0
    refused: int = 0


class Batch(list[Post]):
    """Posts that arrived together, stamped with when they arrived (event-loop clock), so the
    service can measure receipt-to-decision latency.

    A source may yield a `Batch` to stamp the moment it received the posts (ingest stamps the
    HTTP request, before waiting for room); a plain list is stamped by the supervisor when
    the source yields it.
    """

    __slots__ = ("on_settled", "received_at")

    def __init__(
        self,
        posts: list[Post],
        received_at: float,
        on_settled: Callable[[Settled], None] | None = None,
    ) -> None:
        super().__init__(posts)
        self.received_at = received_at
        #: Told what the engine made of the batch once it has (ingest tells its sender).
        self.on_settled = on_settled

    def settle(self, settled: Settled) -> None:
        """The engine has taken the batch (or dropped all of it as duplicates)."""
        if self.on_settled is not None:
            self.on_settled(settled)

    @classmethod
    def stamped(cls, posts: Sequence[Post], now: float) -> Batch:
        """`posts` as a batch: its own stamp if it is one already, else `now`."""
        return posts if isinstance(posts, Batch) else cls(list(posts), now)


@dataclass(slots=True)
class SourceHealth:
    """What `/readyz` and the metrics show about one source."""

    connected: bool = False
    finished: bool = False
    received: int = 0
    malformed: int = 0
    refused: int = 0  # matched posts the engine refused as far outside its window
    reconnects: int = 0
    last_event: float | None = None  # created_at of the newest post, epoch seconds
    last_error: str = ""
    # Live feeds (watcher/sources/retry.py and the supervisor) also keep these:
    # starting, connecting, connected, backoff, rate_limited, failed, finished; a replay
    # shows replaying while it reads, a followed file connected
    state: str = "starting"
    duplicates: int = 0  # posts seen before (reconnect overlap, backfill, cross-source)
    dropped: int = 0  # oldest posts dropped from a firehose's buffer under overload
    gaps: int = 0  # resumes beyond what the server keeps: posts were lost
    restarts: int = 0  # crashes the supervisor restarted the source after
    backfill_failures: int = 0  # gap backfills that failed (retried while streaming goes on)
    edits: int = 0  # edits of posts already counted (Mastodon `status.update`): not recounted

    def as_json(self) -> dict[str, object]:
        """The fields `/readyz` shows for this source."""
        return {
            "state": self.state,
            "connected": self.connected,
            "last_event": self.last_event,
            "reconnects": self.reconnects,
            "received": self.received,
            "malformed": self.malformed,
            "duplicates": self.duplicates,
            "dropped": self.dropped,
            "gaps": self.gaps,
            "restarts": self.restarts,
            "backfill_failures": self.backfill_failures,
            "edits": self.edits,
            "last_error": self.last_error,
        }


class Source(Protocol):
    """A feed. `stream()` yields batches of normalised posts until the feed ends or is closed.

    Subclass it to inherit the defaults below; a class that does not must declare them all.
    """

    #: Unique among the service's sources: the `source` label on metrics and in `/readyz`.
    name: str
    #: What `/readyz` and the metrics show; the source updates it as it runs.
    health: SourceHealth
    #: True for a feed that cannot be slowed down (Jetstream, Mastodon): while the pipeline is
    #: behind, the supervisor buffers its posts and drops the oldest. False (pollers, files,
    #: ingest): waiting on the pipeline simply slows the feed down.
    firehose: bool = False
    #: True for a source that relays other feeds (ingest): each post's own `source` names
    #: the feed it came from, and each such feed has its own event-time watermark.
    relays: bool = False

    def stream(self) -> AsyncIterator[Sequence[Post]]:
        """Batches of posts (a `Batch` to stamp when they arrived) until the feed ends."""
        ...


def parse_counted(line: bytes, health: SourceHealth, source: str) -> Post | None:
    """One posts-NDJSON line as a `Post`, or None when it is blank or malformed.

    Non-blank lines are counted as received on `health`, malformed ones as malformed with
    the reason kept as `last_error`: a bad line is skipped, never fatal.
    """
    if not line.strip():
        return None
    health.received += 1
    try:
        return parse_post_line(line, default_source=source)
    except PostError as exc:
        health.malformed += 1
        health.last_error = str(exc)
        return None
