"""HTTP ingest, the source side: how any other system feeds Groundswell.

Bodies POSTed to `/ingest` on the service port (the route is `watcher/http/ingest.py`) are
NDJSON in the posts format (see `watcher/post.py`). The caller authenticates with
`Authorization: Bearer <token>`, the token coming from the environment and compared in
constant time. Bodies are bounded in size. The answer counts each line's outcome:

    {"accepted": 98, "malformed": 1, "duplicate": 1, "late": 2, "refused": 0,
     "errors": ["line 7: `id` is required ..."]}

Accepted posts wait in a bounded queue that `stream()` yields from, so when the pipeline is
behind, the request waits before answering: the caller slows down. The answer waits (up to
`SETTLE_S`) for the engine to take the batch, so it can say how many accepted posts were too
late for their event-time bucket (`late`: the sender's clock or queue is behind) or far
outside the current window (`refused`); both are null when the engine did not get to the
batch in time.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import hmac
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from watcher.errors import GroundswellError
from watcher.pipeline.dedup import RecentKeys
from watcher.post import Post, PostError, parse_post_line, posts_from_ndjson
from watcher.sources.base import Batch, Settled, Source, SourceHealth
from watcher.sources.common import MAX_SKEW_S

TOKEN_ENV = "GROUNDSWELL_INGEST_TOKEN"  # noqa: S105 - the variable holding it, not a secret
MAX_BODY = 8 * 2**20
MAX_ERRORS = 10  # problems echoed back per request
SETTLE_S = 10.0  # how long an answer waits for the engine to take its batch


class Ingestor(Protocol):
    """What `POST /ingest` hands a body to: this module's `IngestSource` (one process) or
    `watcher.cluster.http_ingest.ClusterIngest` (into the cluster's posts stream)."""

    max_body: int  # bytes

    def authorized(self, header: str) -> bool: ...

    async def accept(self, body: bytes, received_at: float) -> dict[str, object]: ...


class IngestUnavailable(GroundswellError):
    """The posts could not be kept (the cluster's broker did not acknowledge them): the
    sender gets 503 and retries."""

    what = "ingest"


def bearer_matches(header: str, expected: bytes) -> bool:
    """Whether an `Authorization` header is `expected` (`Bearer <token>`, as bytes), compared
    in constant time. Also the HTTP API's check.

    aiohttp hands over a header's bytes that are not UTF-8 as surrogate escapes; they go back
    to those bytes here (and can never match the token) instead of raising.

    >>> bearer_matches("Bearer s3cret", b"Bearer s3cret"), bearer_matches("Bearer x", b"Bearer y")
    (True, False)
    """
    return hmac.compare_digest(header.encode("utf-8", "surrogateescape"), expected)


class IngestSource(Source):
    """Posts pushed over HTTP: `accept()` takes a request body, `stream()` yields its posts.

    A sender relaying several feeds names each post's feed in its `source` field; each feed
    then has its own watermark, so one feed's clock running ahead makes no other one late.
    As a new feed may start up behind the others at any time, buckets stay open for posts
    up to the skew bound (5 minutes) behind the newest.
    """

    relays = True

    def __init__(
        self,
        token: str,
        *,
        name: str = "ingest",
        max_body: int = MAX_BODY,
        queue: int = 64,
        clock: Callable[[], float] = time.time,
        settle: float = SETTLE_S,
    ) -> None:
        if not token:
            raise ValueError(f"ingest needs a token: set {TOKEN_ENV}")
        self.name = name
        self.health = SourceHealth()
        self.outcomes = {"accepted": 0, "malformed": 0, "duplicate": 0}
        self._expected = f"Bearer {token}".encode()
        self.max_body = max_body  # bytes
        self._clock = clock
        self.settle = settle  # seconds an answer waits for the engine to take its batch
        self._queue: asyncio.Queue[list[Post]] = asyncio.Queue(queue)
        self._seen = RecentKeys(200_000)

    def authorized(self, header: str) -> bool:
        """Whether an `Authorization` header carries the token (`bearer_matches`)."""
        return bearer_matches(header, self._expected)

    async def stream(self) -> AsyncIterator[list[Post]]:
        self.health.connected = True
        self.health.state = "connected"
        try:
            while True:
                yield await self._queue.get()
        finally:
            self.health.connected = False

    async def accept(self, body: bytes, received_at: float) -> dict[str, object]:
        """Parse a body, queue its new posts (waiting while the pipeline is behind) and
        return the per-line report; `received_at` is when it arrived (event-loop clock)."""
        accepted, report = self.parse(body)
        if not accepted:
            return {**report, "late": 0, "refused": 0}
        settled: asyncio.Future[Settled] = asyncio.get_running_loop().create_future()

        def tell(outcome: Settled) -> None:
            if not settled.done():
                settled.set_result(outcome)

        await self._queue.put(Batch(accepted, received_at, tell))  # waits while we are behind
        try:
            outcome: Settled | None = await asyncio.wait_for(settled, self.settle)
        except TimeoutError:
            outcome = None
        late = None if outcome is None else outcome.late
        return {**report, "late": late, "refused": None if outcome is None else outcome.refused}

    def _posts(self, body: bytes, counts: dict[str, int], errors: list[str]) -> Iterator[Post]:
        """The body's valid posts; malformed lines are counted in `counts` and explained.

        A wholly well-formed body (the usual case) is decoded in one msgspec call; otherwise
        line by line, so each bad line gets its own message. Lines end at `\n` only, as in
        the fast path: `\r` is JSON whitespace (inside a line, or before `\n` in CRLF).
        A UTF-8 byte-order mark before the first line is ignored.
        """
        body = body.removeprefix(codecs.BOM_UTF8)
        fast = posts_from_ndjson(body, default_source=self.name)
        if fast is not None:
            yield from fast
            return
        for number, line in enumerate(body.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                yield parse_post_line(line, default_source=self.name)
            except PostError as exc:
                counts["malformed"] += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(f"line {number}: {exc}")

    def forget(self, posts: Iterable[Post]) -> None:
        """Not duplicates after all: these posts were not kept (the cluster's publish
        failed), so the sender's retry must be accepted again."""
        for post in posts:
            self._seen.forget(hash(post.id))

    def parse(self, body: bytes) -> tuple[list[Post], dict[str, object]]:
        """A body's new posts (malformed and recently seen ones counted, not returned) and
        the per-line report, without `late` and `refused`: those are the engine's to say."""
        now = self._clock()
        accepted: list[Post] = []
        counts = dict.fromkeys(self.outcomes, 0)
        errors: list[str] = []
        for post in self._posts(body, counts, errors):
            if self._seen.seen(hash(post.id)):  # 8 bytes a key, however long the id
                counts["duplicate"] += 1
                continue
            if post.timestamp > now + MAX_SKEW_S:  # client-declared and in the future: clamp
                post = dataclasses.replace(post, created_at=datetime.fromtimestamp(now, tz=UTC))
            counts["accepted"] += 1
            accepted.append(post)
        for key, value in counts.items():
            self.outcomes[key] += value
        self.health.received += sum(counts.values())
        self.health.malformed += counts["malformed"]
        self.health.duplicates += counts["duplicate"]
        if errors:
            self.health.last_error = errors[-1]
        if accepted:
            self.health.last_event = max(p.timestamp for p in accepted)
        return accepted, {**counts, "errors": errors}
