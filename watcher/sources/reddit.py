"""Reddit (`reddit:SUBREDDIT`): the public `/r/SUB/new.json` listing, polled.

Reddit throttles unidentified clients, so every request carries a descriptive User-Agent
(`<platform>:<app id>:<version> (by /u/<name>)`; set your own in the config). Each poll asks
only for what is newer than the newest post seen (`before=<fullname>`), pages on while a page
comes back full, and paces itself by `X-Ratelimit-Remaining` / `X-Ratelimit-Reset`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping

import aiohttp
import orjson

from watcher.pipeline.dedup import RecentKeys
from watcher.post import Post, PostError
from watcher.sources.base import Source, SourceHealth
from watcher.sources.common import object_field, text_field, trusted_time
from watcher.sources.retry import Backoff, RateLimited, Sleep, check_status, reconnecting
from watcher.sources.rss import read_bounded

USER_AGENT = "python:groundswell:0.1 (campaign early-warning; by /u/groundswell-operator)"
PAGE = 100
#: After this many empty polls, drop `before` once: the post it names may have been deleted,
#: and Reddit then answers every `before` query with an empty page.
EMPTY_POLLS_BEFORE_RESET = 5


def parse_child(child: object, now: float) -> Post:
    """One `t3` listing child as a post; raises `PostError` naming the bad field."""
    if not isinstance(child, dict):
        raise PostError("reddit listing child must be an object")
    data = object_field(child, "data", "reddit post")
    name = text_field(data, "name", "reddit post")
    title = text_field(data, "title", "reddit post")
    selftext = data.get("selftext")
    created = data.get("created_utc")
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise PostError(f"reddit post: `created_utc` must be a number, got {created!r:.40}")
    permalink = data.get("permalink")
    parent = data.get("crosspost_parent")
    return Post(
        id=f"reddit:{name}",
        author=f"u/{data.get('author') or '[deleted]'}",
        text="\n".join(p for p in (title, selftext if isinstance(selftext, str) else "") if p),
        created_at=trusted_time(float(created), now, what="created_utc"),
        url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) else "",
        reshare_of=f"reddit:{parent}" if isinstance(parent, str) else "",
    )


def parse_listing(raw: object, now: float) -> tuple[list[Post], list[str]]:
    """Posts (newest first, as listed) and per-child problems."""
    if not isinstance(raw, dict) or raw.get("kind") != "Listing":
        raise PostError("reddit response is not a Listing")
    children = object_field(raw, "data", "reddit listing").get("children")
    if not isinstance(children, list):
        raise PostError("reddit listing: `data.children` must be a list")
    posts: list[Post] = []
    problems: list[str] = []
    for child in children:
        try:
            posts.append(parse_child(child, now))
        except PostError as exc:
            problems.append(str(exc))
    return posts, problems


def pace(headers: Mapping[str, str], interval: float) -> float:
    """Seconds until the next request: the interval, or longer if the budget is running low.

    >>> pace({"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "42"}, 60.0)
    60.0
    >>> pace({"X-Ratelimit-Remaining": "2", "X-Ratelimit-Reset": "300"}, 60.0)
    150.0
    """
    try:
        remaining = float(headers["X-Ratelimit-Remaining"])
        reset = float(headers["X-Ratelimit-Reset"])
    except (KeyError, ValueError):
        return interval
    if remaining < 1:
        return max(interval, reset)
    return max(interval, reset / remaining)


class RedditSource(Source):
    """A poller of one subreddit's newest posts."""

    def __init__(
        self,
        name: str,
        subreddit: str,
        *,
        base_url: str = "https://www.reddit.com",
        interval: float = 60.0,
        user_agent: str = USER_AGENT,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.subreddit = subreddit.removeprefix("r/")
        self.base = base_url.rstrip("/")
        self.interval = interval
        self.health = SourceHealth()
        self._user_agent = user_agent
        self._backoff = backoff or Backoff(initial=10.0, maximum=3600.0)
        self._clock = clock
        self._sleep = sleep
        self._seen = RecentKeys(50_000)
        self.newest = ""  # fullname of the newest post seen
        self._empty_polls = 0

    def stream(self) -> AsyncIterator[list[Post]]:
        # closing this iterator closes the reconnect loop itself: no wrapper needed
        return reconnecting(self.name, self.health, self._attempt, self._backoff, sleep=self._sleep)

    async def _attempt(self) -> AsyncGenerator[list[Post], None]:
        timeout = aiohttp.ClientTimeout(total=60, sock_connect=30)
        headers = {"User-Agent": self._user_agent}
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            while True:
                posts, wait = await self._page(session)
                self.health.connected = True
                self.health.state = "connected"
                if posts:
                    yield posts
                if len(posts) < PAGE or wait > self.interval:
                    await self._sleep(wait)

    async def _page(self, session: aiohttp.ClientSession) -> tuple[list[Post], float]:
        params = {"limit": str(PAGE), "raw_json": "1"}
        if self.newest and self._empty_polls < EMPTY_POLLS_BEFORE_RESET:
            params["before"] = self.newest
        else:
            self._empty_polls = 0
        url = f"{self.base}/r/{self.subreddit}/new.json"
        async with session.get(url, params=params) as resp:
            now = self._clock()
            if resp.status == 429 and "Retry-After" not in resp.headers:  # pace by the reset
                raise RateLimited(
                    f"{self.name}: HTTP 429: rate limited", pace(resp.headers, self.interval)
                )
            check_status(self.name, resp.status, resp.headers, now)
            body = await read_bounded(resp, 8 * 2**20, self.name)
            wait = pace(resp.headers, self.interval)
        try:
            posts, problems = parse_listing(orjson.loads(body), now)
        except (orjson.JSONDecodeError, PostError) as exc:
            self.health.malformed += 1
            self.health.last_error = f"{self.name}: {exc}"
            return [], wait
        self.health.received += len(posts) + len(problems)
        self.health.malformed += len(problems)
        if problems:
            self.health.last_error = problems[-1]
        if posts:
            self.newest = posts[0].id.removeprefix("reddit:")
            self._empty_polls = 0
        else:
            self._empty_polls += 1
        fresh = [p for p in reversed(posts) if not self._seen.seen(p.id)]
        self.health.duplicates += len(posts) - len(fresh)
        if fresh:
            self.health.last_event = max(p.timestamp for p in fresh)
        return fresh, wait
