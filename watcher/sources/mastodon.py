"""Mastodon streaming (`mastodon:https://INSTANCE` or `mastodon:https://INSTANCE#tag`).

Server-sent events from `/api/v1/streaming/public` (or `/hashtag?tag=`), with a bot
account's token (Mastodon 4.2+ requires a user token for public streams). SSE cannot resume,
so after every reconnect the REST timeline is read forward from the last id seen with
`min_id`, and the overlap with the stream is deduplicated on the status URI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from urllib.parse import quote, urlsplit

import aiohttp
import orjson

from watcher.pipeline.dedup import RecentKeys
from watcher.post import Post, PostError, parse_timestamp
from watcher.sources.base import Source, SourceHealth
from watcher.sources.common import html_to_text, object_field, text_field, trusted_time
from watcher.sources.retry import Backoff, Sleep, check_status, reconnecting

log = logging.getLogger("groundswell.sources")

#: Mastodon sends `:thump` every 15 s; a read this long without a byte means a dead stream.
READ_TIMEOUT_S = 45.0
PAGE = 40  # the REST maximum


class SSEParser:
    """Server-sent events, line by line (WHATWG rules: `:` comments, joined `data:` lines).

    >>> p = SSEParser()
    >>> [p.feed(x) for x in [":thump", "event: delete", "data: 42", ""]]
    [None, None, None, ('delete', '42')]
    """

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        line = line.rstrip("\r\n")
        if not line:
            event, data = self._event or "message", self._data
            self._event, self._data = "", []
            return (event, "\n".join(data)) if data else None
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        return None


def id_order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings in practice: compare by length, then text."""
    return len(status_id), status_id


def parse_status(raw: object, host: str, now: float) -> tuple[str, Post]:
    """`(local id, post)` from a Status entity; raises `PostError` naming the bad field."""
    if not isinstance(raw, dict):
        raise PostError("mastodon status must be a JSON object")
    what = "mastodon status"
    local_id = text_field(raw, "id", what)
    seconds = parse_timestamp(raw.get("created_at"))
    reblog = raw.get("reblog")
    shown = reblog if isinstance(reblog, dict) else raw  # a boost shows the boosted text
    content = html_to_text(text_field(shown, "content", what))
    spoiler = shown.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler:
        content = f"{spoiler}\n{content}"
    account = object_field(raw, "account", what)
    acct = text_field(account, "acct", what)
    followers = account.get("followers_count")
    tags = shown.get("tags")
    if tags is not None and not isinstance(tags, list):
        raise PostError(f"{what}: `tags` must be a list, got {type(tags).__name__}")
    names = [t["name"] for t in tags or () if isinstance(t, dict) and "name" in t]
    if not all(isinstance(n, str) for n in names):
        raise PostError(f"{what}: `tags[].name` must be strings")
    names = [n.lower() for n in names]
    uri = raw.get("uri")
    url = raw.get("url")
    language = shown.get("language")
    reply = raw.get("in_reply_to_id")
    post = Post(
        id=uri if isinstance(uri, str) and uri else f"https://{host}/statuses/{local_id}",
        author=acct if "@" in acct else f"{acct}@{host}",
        text=content,
        created_at=trusted_time(seconds, now),
        url=url if isinstance(url, str) else "",
        lang=language if isinstance(language, str) else "",
        reshare_of=str(reblog.get("uri") or "") if isinstance(reblog, dict) else "",
        reply_to=reply if isinstance(reply, str) else "",
        author_followers=followers
        if isinstance(followers, int) and not isinstance(followers, bool)
        else None,
        hashtags=tuple(names),
    )
    return local_id, post


class MastodonSource(Source):
    firehose = True

    def __init__(
        self,
        name: str,
        instance: str,
        *,
        tag: str = "",
        token: str = "",
        backoff: Backoff | None = None,
        read_timeout: float = READ_TIMEOUT_S,
        backfill_pages: int = 100,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.base = instance.rstrip("/")
        self.host = urlsplit(self.base).netloc
        self.tag = tag.lstrip("#")
        self.health = SourceHealth()
        self._token = token
        self._backoff = backoff or Backoff()
        self._read_timeout = read_timeout
        self._backfill_pages = backfill_pages
        self._clock = clock
        self._sleep = sleep
        self._seen = RecentKeys(100_000)
        self.last_id: str | None = None

    def _paths(self) -> tuple[str, dict[str, str], str]:
        if self.tag:
            return (
                "/api/v1/streaming/hashtag",
                {"tag": self.tag},
                f"/api/v1/timelines/tag/{quote(self.tag, safe='')}",
            )
        return "/api/v1/streaming/public", {}, "/api/v1/timelines/public"

    def stream(self) -> AsyncIterator[list[Post]]:
        # closing this iterator closes the reconnect loop itself: no wrapper needed
        return reconnecting(self.name, self.health, self._attempt, self._backoff, sleep=self._sleep)

    async def _attempt(self) -> AsyncGenerator[list[Post], None]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=self._read_timeout)
        stream_path, params, rest_path = self._paths()
        async with (
            aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
            session.get(
                self.base + stream_path, params=params, headers={"Accept": "text/event-stream"}
            ) as resp,
        ):
            check_status(f"{self.name} stream", resp.status, resp.headers, self._clock())
            self.health.connected = True
            self.health.state = "connected"
            if self.last_id is not None:  # SSE has no resume: fill the gap from REST
                async for batch in self._backfill(session, rest_path):
                    yield batch
            async for batch in self._events(resp.content):
                yield batch

    async def _events(self, content: AsyncIterable[bytes]) -> AsyncIterator[list[Post]]:
        parser = SSEParser()
        async for line in content:
            event = parser.feed(line.decode(errors="replace"))
            if event is None:
                continue
            kind, data = event
            if kind not in ("update", "status.update"):
                continue  # `delete` and user-stream events carry no new post
            self.health.received += 1
            try:
                local_id, post = parse_status(orjson.loads(data), self.host, self._clock())
            except (orjson.JSONDecodeError, PostError) as exc:
                self.health.malformed += 1
                self.health.last_error = f"{kind}: {exc}"
                continue
            if kind == "update":
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

    async def _backfill(
        self, session: aiohttp.ClientSession, path: str
    ) -> AsyncIterator[list[Post]]:
        for _ in range(self._backfill_pages):
            assert self.last_id is not None
            params = {"min_id": self.last_id, "limit": str(PAGE)}
            async with session.get(self.base + path, params=params) as resp:
                if resp.status == 404:  # a hashtag nobody has used yet
                    return
                check_status(f"{self.name} backfill", resp.status, resp.headers, self._clock())
                body = await resp.read()
            try:
                page = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                self.health.malformed += 1
                self.health.last_error = f"backfill page is not JSON: {exc}"
                return
            if not isinstance(page, list) or not page:
                return
            posts: list[tuple[str, Post]] = []
            for raw in page:
                self.health.received += 1
                try:
                    posts.append(parse_status(raw, self.host, self._clock()))
                except PostError as exc:
                    self.health.malformed += 1
                    self.health.last_error = f"backfill: {exc}"
                    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                        self._advance(raw["id"])  # skip it rather than loop on it
            posts.sort(key=lambda pair: id_order(pair[0]))
            for local_id, _ in posts:
                self._advance(local_id)
            fresh = self._fresh([post for _, post in posts])
            if fresh:
                yield fresh
        log.warning("%s: backfill stopped after %d pages", self.name, self._backfill_pages)
