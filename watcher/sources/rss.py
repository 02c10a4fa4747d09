"""RSS and Atom feeds (`rss:URL`), polled with conditional GET.

aiohttp fetches (sending the stored `ETag` as `If-None-Match` and `Last-Modified` as
`If-Modified-Since`; a 304 costs the server nothing), feedparser parses the bytes, and
entries are deduplicated by guid/id. Each feed has its own interval; `Retry-After` on a 429
or 503 is honoured by the shared reconnect loop.
"""

from __future__ import annotations

import asyncio
import calendar
import io
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import feedparser

from watcher.pipeline.dedup import RecentKeys
from watcher.post import Post, PostError
from watcher.sources.base import Source, SourceHealth
from watcher.sources.common import html_to_text, trusted_time
from watcher.sources.retry import Backoff, Sleep, TransientError, check_status, reconnecting

USER_AGENT = "groundswell/0.1 (+https://github.com/groundswell; campaign early-warning)"
MAX_FEED_BYTES = 10 * 2**20


async def read_bounded(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """The body, or a TransientError if it is larger than `limit` bytes."""
    body = await resp.content.read(limit + 1)
    while len(body) <= limit:
        more = await resp.content.read(limit + 1 - len(body))
        if not more:
            return body
        body += more
    raise TransientError(f"{what}: response larger than {limit} bytes; not read")


def parse_entry(
    entry: Mapping[str, Any], feed: Mapping[str, Any], fallback_author: str, now: float
) -> Post:
    """One feed entry as a post; raises `PostError` when it has no id or link to key it by."""
    key = entry.get("id") or entry.get("link")
    if not isinstance(key, str) or not key:
        raise PostError("feed entry has neither an id/guid nor a link")
    title = entry.get("title") if isinstance(entry.get("title"), str) else ""
    summary = entry.get("summary") if isinstance(entry.get("summary"), str) else ""
    text = "\n".join(part for part in (title, html_to_text(summary or "")) if part)
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    seconds = calendar.timegm(parsed) if isinstance(parsed, time.struct_time) else now
    author = entry.get("author") or feed.get("title") or fallback_author
    tags = entry.get("tags") or ()
    terms = [t.get("term") for t in tags if isinstance(t, Mapping)]
    link = entry.get("link")
    language = feed.get("language")
    return Post(
        id=key,
        author=str(author),
        text=text,
        created_at=trusted_time(float(seconds), now),
        url=link if isinstance(link, str) else "",
        lang=language if isinstance(language, str) else "",
        hashtags=tuple(t.lower().lstrip("#") for t in terms if isinstance(t, str) and t),
    )


def parse_feed(
    body: bytes, headers: Mapping[str, str], url: str, now: float
) -> tuple[list[Post], list[str]]:
    """Posts and per-entry problems from a feed document (partial feeds still yield posts)."""
    wanted = {k: v for k, v in headers.items() if k.lower() in ("content-type", "content-location")}
    wanted.setdefault("content-location", url)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=wanted)
    posts: list[Post] = []
    problems: list[str] = []
    host = urlsplit(url).netloc
    for entry in parsed.entries:
        try:
            posts.append(parse_entry(entry, parsed.feed, host, now))
        except PostError as exc:
            problems.append(str(exc))
    if not posts and parsed.get("bozo") and not parsed.entries:
        problems.append(f"not a feed: {parsed.get('bozo_exception')}")
    return posts, problems


class RssSource(Source):
    """A poller: when the pipeline is busy it simply polls later."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        interval: float = 300.0,
        user_agent: str = USER_AGENT,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.url = url
        self.interval = interval
        self.health = SourceHealth()
        self._user_agent = user_agent
        self._backoff = backoff or Backoff(initial=5.0, maximum=3600.0)
        self._clock = clock
        self._sleep = sleep
        self._etag = ""
        self._modified = ""
        self._seen = RecentKeys(50_000)

    def stream(self) -> AsyncIterator[list[Post]]:
        # closing this iterator closes the reconnect loop itself: no wrapper needed
        return reconnecting(self.name, self.health, self._attempt, self._backoff, sleep=self._sleep)

    async def _attempt(self) -> AsyncGenerator[list[Post], None]:
        timeout = aiohttp.ClientTimeout(total=120, sock_connect=30, sock_read=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                posts = await self._poll(session)
                self.health.connected = True
                self.health.state = "connected"
                if posts:
                    yield posts
                await self._sleep(self.interval)

    async def _poll(self, session: aiohttp.ClientSession) -> list[Post]:
        headers = {"User-Agent": self._user_agent}
        if self._etag:
            headers["If-None-Match"] = self._etag
        if self._modified:
            headers["If-Modified-Since"] = self._modified
        async with session.get(self.url, headers=headers) as resp:
            if resp.status == 304:
                return []
            check_status(self.name, resp.status, resp.headers, self._clock())
            body = await read_bounded(resp, MAX_FEED_BYTES, self.name)
            self._etag = resp.headers.get("ETag", "")
            self._modified = resp.headers.get("Last-Modified", "")
            response_headers = dict(resp.headers)
        posts, problems = parse_feed(body, response_headers, self.url, self._clock())
        self.health.received += len(posts) + len(problems)
        if problems:
            self.health.malformed += len(problems)
            self.health.last_error = problems[-1]
        fresh = [p for p in posts if not self._seen.seen(p.id)]
        self.health.duplicates += len(posts) - len(fresh)
        if fresh:
            self.health.last_event = max(p.timestamp for p in fresh)
        return sorted(fresh, key=lambda p: p.created_at)
