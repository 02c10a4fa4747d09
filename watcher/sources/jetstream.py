"""Bluesky Jetstream (`jetstream:wss://HOST/subscribe`): new posts over a WebSocket.

Only `commit` events that `create` an `app.bsky.feed.post` become posts; everything else
(identity, account, deletes, other collections) only moves the cursor. The event time is the
server's `time_us`, not the client-declared `createdAt`.

Resume without loss: the last processed `time_us` is kept (in memory, and in the SQLite state
file every `save_every` seconds and at shutdown). Each connection asks for
`cursor = last − 5 s`; the overlap is deduplicated on did + rkey. Jetstream keeps about
36 hours, so an older cursor is silently clamped by the server: that gap is counted and logged.

Failover: a source may list other instances (`failover`). A connection that fails before any
event arrives moves on to the next one in turn; the cursor is a time, valid on any instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import orjson

from watcher.pipeline.dedup import RecentKeys
from watcher.post import Post, PostError
from watcher.sources.base import Source, SourceHealth
from watcher.sources.common import object_field, text_field, trusted_time
from watcher.sources.cursors import CursorStore
from watcher.sources.retry import (
    TRANSIENT,
    Backoff,
    RateLimited,
    Sleep,
    TransientError,
    check_status,
    reconnecting,
)

log = logging.getLogger("groundswell.sources")

COLLECTION = "app.bsky.feed.post"
OVERLAP_US = 5_000_000
LOOKBACK_S = 36 * 3600.0
QUOTE_EMBEDS = ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")
#: Bluesky's public Jetstream instances, for a `failover:` list.
PUBLIC_INSTANCES = tuple(
    f"wss://jetstream{n}.us-{side}.bsky.network/subscribe"
    for side in ("east", "west")
    for n in (1, 2)
)
#: Errors after which the next instance is tried, when the attempt saw no event.
_HOST_FAILED: tuple[type[BaseException], ...] = (*TRANSIENT, RateLimited)


def _str_list(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _facets(record: dict[str, Any], text: str) -> tuple[list[str], list[str]]:
    """Hashtags and the full URLs of links whose visible text is shortened.

    Facet indices are UTF-8 byte offsets, so the visible text is sliced from the bytes.
    """
    encoded = text.encode()
    tags: list[str] = []
    links: list[str] = []
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else ():
        if not isinstance(facet, dict) or not isinstance(facet.get("features"), list):
            continue
        index = facet.get("index")
        start = index.get("byteStart") if isinstance(index, dict) else None
        end = index.get("byteEnd") if isinstance(index, dict) else None
        shown = ""
        if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end:
            shown = encoded[start:end].decode(errors="replace")
        for feature in facet["features"]:
            if not isinstance(feature, dict):
                continue
            kind = feature.get("$type")
            if kind == "app.bsky.richtext.facet#tag" and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"].lstrip("#").lower())
            elif kind == "app.bsky.richtext.facet#link":
                uri = feature.get("uri")
                if isinstance(uri, str) and uri != shown:
                    links.append(uri)
    return tags, links


def _strong_ref_uri(value: object) -> str:
    if isinstance(value, dict) and isinstance(value.get("uri"), str):
        return str(value["uri"])
    return ""


def parse_event(frame: str | bytes, now: float) -> tuple[int | None, Post | None]:
    """`(time_us, post)` from one Jetstream frame; `post` is None for events that are not new
    posts. Raises `PostError` when the frame is not usable."""
    try:
        event = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise PostError(f"jetstream frame is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise PostError("jetstream frame must be a JSON object")
    time_us = event.get("time_us")
    if time_us is not None and (not isinstance(time_us, int) or isinstance(time_us, bool)):
        raise PostError(f"jetstream `time_us` must be an integer, got {time_us!r:.40}")
    if event.get("kind") != "commit":
        return time_us, None
    commit = object_field(event, "commit", "jetstream commit")
    if commit.get("operation") != "create" or commit.get("collection") != COLLECTION:
        return time_us, None
    if time_us is None:
        raise PostError("jetstream post: `time_us` is required")
    did = text_field(event, "did", "jetstream post")
    rkey = text_field(commit, "rkey", "jetstream post")
    record = object_field(commit, "record", "jetstream post")
    text = text_field(record, "text", "jetstream post")
    hashtags, links = _facets(record, text)
    hashtags += [t.lstrip("#").lower() for t in _str_list(record.get("tags"))]
    embed = record.get("embed")
    quote = ""
    if isinstance(embed, dict):
        if embed.get("$type") == "app.bsky.embed.record":
            quote = _strong_ref_uri(embed.get("record"))
        elif embed.get("$type") == "app.bsky.embed.recordWithMedia":
            inner = embed.get("record")
            quote = _strong_ref_uri(inner.get("record") if isinstance(inner, dict) else None)
        elif embed.get("$type") == "app.bsky.embed.external":
            external = embed.get("external")
            uri = external.get("uri") if isinstance(external, dict) else None
            if isinstance(uri, str) and uri not in text:
                links.append(uri)
    reply = record.get("reply")
    langs = _str_list(record.get("langs"))
    if links:  # full URLs, so own-domain and link matching see what the reader clicks
        text = "\n".join([text, *dict.fromkeys(links)])
    post = Post(
        id=f"at://{did}/{COLLECTION}/{rkey}",
        author=did,
        text=text,
        created_at=trusted_time(time_us / 1e6, now, what="time_us"),
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        lang=langs[0] if langs else "",
        reshare_of=quote,
        reply_to=_strong_ref_uri(reply.get("parent")) if isinstance(reply, dict) else "",
        hashtags=tuple(dict.fromkeys(hashtags)),
    )
    return time_us, post


class JetstreamSource(Source):
    """A firehose: under overload the supervisor drops its oldest posts (and counts them)."""

    firehose = True

    def __init__(
        self,
        name: str,
        url: str,
        *,
        cursors: CursorStore | None = None,
        failover: Sequence[str] = (),
        backoff: Backoff | None = None,
        read_timeout: float = 60.0,
        save_every: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.url = url  # the cursor's key, whichever instance serves it
        self.urls = list(dict.fromkeys([url, *failover]))
        self.host = 0  # index into `urls` of the instance in use
        self.health = SourceHealth()
        self._cursors = cursors
        self._backoff = backoff or Backoff()
        self._read_timeout = read_timeout
        self._save_every = save_every
        self._clock = clock
        self._sleep = sleep
        self._seen = RecentKeys(100_000)
        self.last_us: int | None = cursors.load(url) if cursors else None
        # After a restart the keys of the overlap are gone; events up to the persisted
        # cursor were processed before, so they are skipped by time instead.
        self._floor = self.last_us
        self._saved_at = 0.0

    async def stream(self) -> AsyncIterator[list[Post]]:
        try:
            async with contextlib.aclosing(
                reconnecting(
                    self.name, self.health, self._attempt, self._backoff, sleep=self._sleep
                )
            ) as batches:
                async for batch in batches:
                    yield batch
        finally:
            self._save(force=True)

    def _save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._cursors and self.last_us is not None and (force or now >= self._saved_at):
            self._cursors.save(self.url, self.last_us, self._clock())
            self._saved_at = now + self._save_every

    def _params(self) -> dict[str, str]:
        params = {"wantedCollections": COLLECTION}
        if self.last_us is not None:
            lag = self._clock() - self.last_us / 1e6
            if lag > LOOKBACK_S:
                self.health.gaps += 1
                log.warning(
                    "%s: resuming %.1f h after the last event, beyond the ~36 h Jetstream "
                    "keeps: posts in between are lost",
                    self.name,
                    lag / 3600,
                )
            params["cursor"] = str(max(self.last_us - OVERLAP_US, 0))
        return params

    async def _attempt(self) -> AsyncGenerator[list[Post], None]:
        received = self.health.received
        try:
            async for batch in self._connection(self.urls[self.host]):
                yield batch
        except _HOST_FAILED:
            if self.health.received == received and len(self.urls) > 1:
                self.host = (self.host + 1) % len(self.urls)  # this one gave nothing: next
                log.warning("%s: failing over to %s", self.name, self.urls[self.host])
            raise

    async def _connection(self, url: str) -> AsyncGenerator[list[Post], None]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                ws = await session.ws_connect(
                    url,
                    params=self._params(),
                    heartbeat=self._read_timeout / 2,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2),
                    max_msg_size=4 * 2**20,
                )
            except aiohttp.WSServerHandshakeError as exc:
                check_status(self.name, exc.status, exc.headers or {}, self._clock())
                raise
            async with ws:
                self.health.connected = True
                self.health.state = "connected"
                while True:
                    # Our own deadline: aiohttp restarts its receive timeout on every pong,
                    # so a server that answers pings but sends no events would never trip it.
                    async with asyncio.timeout(self._read_timeout):
                        msg = await ws.receive()
                    if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        post = self._handle(msg.data)
                        if post is not None:
                            yield [post]
                        self._save()
                    elif msg.type in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.CLOSED,
                    ):
                        raise TransientError(f"{self.name}: the server closed the WebSocket")
                    elif msg.type == aiohttp.WSMsgType.ERROR:
                        raise TransientError(f"{self.name}: WebSocket error: {ws.exception()}")

    def _handle(self, frame: str | bytes) -> Post | None:
        self.health.received += 1
        try:
            time_us, post = parse_event(frame, self._clock())
        except PostError as exc:
            self.health.malformed += 1
            self.health.last_error = str(exc)
            return None
        if time_us is not None:
            if self._floor is not None and time_us <= self._floor:
                self.health.duplicates += post is not None
                return None
            self.last_us = max(self.last_us or 0, time_us)
        if post is None:
            return None
        if self._seen.seen(post.id):
            self.health.duplicates += 1
            return None
        self.health.last_event = post.timestamp
        return post
