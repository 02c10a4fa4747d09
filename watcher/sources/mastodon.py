"""Mastodon streaming (`mastodon:https://INSTANCE` or `mastodon:https://INSTANCE#tag`).

Server-sent events from `/api/v1/streaming/public` (or `/hashtag?tag=`) on the instance's
streaming host (`mastodon_instance`), with a bot account's token (Mastodon 4.2+ requires a
user token for public streams). SSE cannot resume, so after every reconnect the REST
timeline (on the web host: the streaming host answers it `400 Unknown channel`) is read
forward from the last id seen with `min_id`, and the overlap is deduplicated on the status
URI. A backfill that fails is retried with backoff while the stream goes on; only a refused
token stops the source. The stream is watched on its own: no event or heartbeat for
`stall_beats` heartbeat periods and it is dropped and reopened, whatever the socket says.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from urllib.parse import quote, urlencode

import aiohttp
import orjson

from watcher.pipeline.dedup import RecentKeys
from watcher.post import Post, PostError
from watcher.sources.base import Source, SourceHealth
from watcher.sources.mastodon_instance import Instance, InstanceInfo, open_stream
from watcher.sources.mastodon_wire import SSEParser, id_order, parse_status
from watcher.sources.retry import (
    TRANSIENT,
    Backoff,
    FatalError,
    RateLimited,
    Sleep,
    TransientError,
    check_status,
    reconnecting,
)

log = logging.getLogger("groundswell.sources")

#: Mastodon writes `:thump` every 15 s.
HEARTBEAT_S = 15.0
#: Heartbeat periods without a line before the stream counts as stalled.
STALL_BEATS = 3
#: aiohttp's own socket read timeout: a backstop behind the stall watchdog.
READ_TIMEOUT_S = 60.0
PAGE = 40  # the REST maximum


class MastodonSource(Source):
    firehose = True

    def __init__(
        self,
        name: str,
        instance: str,
        *,
        tag: str = "",
        token: str = "",
        streaming_url: str = "",
        local_domain: str = "",
        backoff: Backoff | None = None,
        backfill_backoff: Backoff | None = None,
        read_timeout: float = READ_TIMEOUT_S,
        heartbeat_s: float = HEARTBEAT_S,
        stall_beats: int = STALL_BEATS,
        backfill_pages: int = 100,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.base = instance.rstrip("/")  # REST; the stream's base comes from `self.instance`
        self.tag = tag.lstrip("#")
        self.health = SourceHealth()
        self.instance = InstanceInfo(name, self.base, streaming=streaming_url, domain=local_domain)
        self._token = token
        self._backoff = backoff or Backoff()
        self._backfill_backoff = backfill_backoff or Backoff(initial=5.0, maximum=300.0)
        self._read_timeout = read_timeout
        self.stall_after = heartbeat_s * stall_beats
        self._backfill_pages = backfill_pages
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._seen = RecentKeys(100_000)
        self.last_id: str | None = None
        self._gap_from: str | None = None  # backfill pending from this id (exclusive)
        self._gap_to: str | None = None  # ... up to the first id this connection streamed
        self._backfill_due = 0.0  # monotonic time of the next backfill try

    def _paths(self) -> tuple[str, str]:
        if self.tag:
            query = urlencode({"tag": self.tag})
            return (
                f"/api/v1/streaming/hashtag?{query}",
                f"/api/v1/timelines/tag/{quote(self.tag, safe='')}",
            )
        return "/api/v1/streaming/public", "/api/v1/timelines/public"

    def stream(self) -> AsyncIterator[list[Post]]:
        # closing this iterator closes the reconnect loop itself: no wrapper needed
        return reconnecting(self.name, self.health, self._attempt, self._backoff, sleep=self._sleep)

    async def _attempt(self) -> AsyncGenerator[list[Post], None]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=self._read_timeout)
        stream_path, rest_path = self._paths()
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            instance = await self.instance.get(session)
            try:
                resp, instance = await open_stream(
                    session,
                    instance.streaming + stream_path,
                    self.instance,
                    instance,
                    {**headers, "Accept": "text/event-stream"},
                )
            except TRANSIENT:
                self.instance.forget()  # the streaming host may have moved: ask again
                raise
            async with resp:
                try:
                    check_status(f"{self.name} stream", resp.status, resp.headers, self._clock())
                except (TransientError, RateLimited):
                    self.instance.forget()
                    raise
                self.health.connected = True
                self.health.state = "connected"
                if self.last_id is not None and self._gap_from is None:
                    self._gap_from = self.last_id  # SSE has no resume: REST fills the gap
                    self._backfill_due = 0.0
                self._gap_to = None  # the gap runs up to this connection's first status
                async for batch in self._events(resp.content, session, rest_path, instance):
                    yield batch

    async def _lines(self, content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
        """The stream's lines; raises `TransientError` after `stall_after` s of silence."""
        while True:
            try:
                async with asyncio.timeout(self.stall_after) as watchdog:
                    line = await content.readline()
            except TimeoutError:
                if not watchdog.expired():
                    raise  # aiohttp's own socket read timeout
                raise TransientError(
                    f"{self.name} stream: stalled, no event or heartbeat for {self.stall_after:g} s"
                ) from None
            if not line:
                return
            yield line

    async def _events(
        self,
        content: aiohttp.StreamReader,
        session: aiohttp.ClientSession,
        rest_path: str,
        instance: Instance,
    ) -> AsyncIterator[list[Post]]:
        parser = SSEParser()
        async for line in self._lines(content):
            # A backfill due runs between lines (heartbeats come at least every 15 s):
            # the stream stays open meanwhile, its bytes wait in the socket.
            if self._gap_from is not None and self._monotonic() >= self._backfill_due:
                async for batch in self._backfill(session, rest_path, instance):
                    yield batch
            event = parser.feed(line.decode(errors="replace"))
            if event is None:
                continue
            kind, data = event
            if kind not in ("update", "status.update"):
                continue  # `delete` and user-stream events carry no new post
            self.health.received += 1
            try:
                local_id, post = parse_status(
                    orjson.loads(data), instance.domain, self._clock(), base=self.base
                )
            except (orjson.JSONDecodeError, PostError) as exc:
                self.health.malformed += 1
                self.health.last_error = f"{kind}: {exc}"
                continue
            if kind == "status.update":
                if self._seen.seen(post.id):
                    self.health.edits += 1  # counted once already, as first posted (README)
                else:  # an edit of a post we never had: it counts once, as edited
                    self.health.last_event = post.timestamp
                    yield [post]
                continue
            if self._gap_from is not None and self._gap_to is None:
                self._gap_to = local_id
            self._advance(local_id)
            fresh = self._fresh([post])
            if fresh:
                yield fresh

    def _advance(self, local_id: str) -> None:
        if self.last_id is None or id_order(local_id) > id_order(self.last_id):
            self.last_id = local_id

    def _fresh(self, posts: list[Post]) -> list[Post]:
        out = []
        for post in posts:
            if self._seen.seen(post.id):
                self.health.duplicates += 1
            else:
                self.health.last_event = post.timestamp
                out.append(post)
        return out

    def _backfill_failed(self, why: str, wait: float | None = None) -> None:
        delay = self._backfill_backoff.next() if wait is None else wait
        self._backfill_due = self._monotonic() + delay
        self.health.backfill_failures += 1
        self.health.last_error = why
        log.warning("%s: %s; streaming goes on, backfill again in %.1f s", self.name, why, delay)

    async def _backfill(
        self, session: aiohttp.ClientSession, path: str, instance: Instance
    ) -> AsyncIterator[list[Post]]:
        """Read the gap forward from `_gap_from`; on failure keep it for a later try."""
        for _ in range(self._backfill_pages):
            assert self._gap_from is not None
            try:
                page = await self._page(session, path)
            except FatalError:
                raise  # a refused token: nothing else will work either
            except RateLimited as exc:
                self._backfill_failed(f"backfill: {exc}", exc.retry_after)
                return
            except TRANSIENT as exc:
                self._backfill_failed(f"backfill: {type(exc).__name__}: {exc}")
                return
            if not page:
                break
            posts: list[tuple[str, Post]] = []
            newest = self._gap_from
            for raw in page:
                if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    newest = max(newest, raw["id"], key=id_order)  # skip bad ones, never loop
                self.health.received += 1
                try:
                    posts.append(parse_status(raw, instance.domain, self._clock(), base=self.base))
                except PostError as exc:
                    self.health.malformed += 1
                    self.health.last_error = f"backfill: {exc}"
            if newest == self._gap_from:
                break  # a page with no usable ids cannot move us on
            self._gap_from = newest
            self._advance(newest)
            posts.sort(key=lambda pair: id_order(pair[0]))
            fresh = self._fresh([post for _, post in posts])
            if fresh:
                yield fresh
            if self._gap_to is not None and id_order(newest) >= id_order(self._gap_to):
                break  # caught up with what this connection streamed
        else:
            log.warning("%s: backfill stopped after %d pages", self.name, self._backfill_pages)
        self._gap_from = self._gap_to = None
        self._backfill_backoff.reset()

    async def _page(self, session: aiohttp.ClientSession, path: str) -> list[object]:
        assert self._gap_from is not None
        params = {"min_id": self._gap_from, "limit": str(PAGE)}
        async with session.get(self.base + path, params=params) as resp:
            if resp.status == 404:  # a hashtag nobody has used yet
                return []
            if 400 <= resp.status < 500 and resp.status not in (401, 403, 429):
                # fatal for a stream (a wrong URL), but one bad page must not stop a source
                # whose stream works: retried later like a server error
                raise TransientError(f"{self.name} backfill: HTTP {resp.status}")
            check_status(f"{self.name} backfill", resp.status, resp.headers, self._clock())
            try:
                page = orjson.loads(await resp.read())
            except orjson.JSONDecodeError as exc:
                raise TransientError(f"{self.name} backfill: the page is not JSON: {exc}") from None
        if not isinstance(page, list):
            raise TransientError(f"{self.name} backfill: the page is not a JSON list")
        return page
