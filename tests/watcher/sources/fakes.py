"""Local stand-ins for the internet services, speaking their wire formats, failures included."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import T0, rfc3339

Refusal = tuple[int, dict[str, str]]


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[TestServer]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def quiet_drain(ws: web.WebSocketResponse) -> None:
    """Hold a WebSocket open until the client leaves."""
    async for _ in ws:
        pass


def jetstream_post(i: int, text: str = "", **record: Any) -> dict[str, Any]:
    """A commit/create of app.bsky.feed.post, as Jetstream v1 sends it; 100 ms apart."""
    return {
        "did": f"did:plc:author{i % 50}",
        "time_us": int(T0 * 1e6) + i * 100_000,
        "kind": "commit",
        "commit": {
            "rev": f"3l{i:08d}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"3k{i:09d}",
            "cid": f"bafyrei{i:010d}",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": text or f"post number {i} about toxic waste",
                "createdAt": rfc3339(T0 + i / 10),
                "langs": ["en"],
                **record,
            },
        },
    }


def jetstream_noise(i: int) -> dict[str, Any]:
    """Events a post watcher must skip: identity, account, deletes, other collections."""
    time_us = int(T0 * 1e6) + i * 100_000 + 50_000
    did = f"did:plc:other{i}"
    return [
        {"did": did, "time_us": time_us, "kind": "identity", "identity": {"did": did, "seq": i}},
        {"did": did, "time_us": time_us, "kind": "account", "account": {"active": True}},
        {
            "did": did,
            "time_us": time_us,
            "kind": "commit",
            "commit": {
                "rev": "x",
                "operation": "delete",
                "collection": "app.bsky.feed.post",
                "rkey": "3kgone",
            },
        },
        {
            "did": did,
            "time_us": time_us,
            "kind": "commit",
            "commit": {
                "rev": "x",
                "operation": "create",
                "collection": "app.bsky.feed.like",
                "rkey": "3klike",
                "record": {"subject": {}},
            },
        },
    ][i % 4]


def jetstream_feed(posts: int, *, noise_every: int = 7) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(posts):
        events.append(jetstream_post(i))
        if i % noise_every == 0:
            events.append(jetstream_noise(i))
    return events


@dataclass
class FakeJetstream:
    """`/subscribe`: from `cursor` (inclusive, on time_us) or, without one, from the live tip.

    It drops each connection after `per_connection` frames; while nobody is connected the
    live tip moves on by `advance_while_down` events, which only a cursor can recover.
    """

    events: list[dict[str, Any]]
    per_connection: int = 300
    advance_while_down: int = 40
    refusals: list[Refusal] = field(default_factory=list)
    stall_first: bool = False
    extra_frames: list[str] = field(default_factory=list)  # sent raw at each connection start
    queries: list[dict[str, str]] = field(default_factory=list)
    last_sent: list[int] = field(default_factory=list)  # per connection: its last time_us
    live: int = 0
    gate_at: int | None = None  # hold the feed before this event until `gate` is set
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/subscribe", self.subscribe)
        return app

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        self.queries.append(dict(request.query))
        if self.refusals:
            status, headers = self.refusals.pop(0)
            return web.Response(status=status, headers=headers, text="no")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if self.stall_first and len(self.queries) == 1:
            await quiet_drain(ws)  # accept, then never send
            return ws
        cursor = request.query.get("cursor")
        if cursor is not None:
            start = next(
                (i for i, e in enumerate(self.events) if e["time_us"] >= int(cursor)),
                len(self.events),
            )
        else:
            start = min(self.live, len(self.events))
        for raw in self.extra_frames:
            await ws.send_str(raw)
        end = min(start + self.per_connection, len(self.events))
        for index in range(start, end):
            if index == self.gate_at and not self.gate.is_set():
                # Hold the feed, but answer the client's close at once if it leaves.
                opened = asyncio.create_task(self.gate.wait())
                left = asyncio.create_task(ws.receive())
                await asyncio.wait({opened, left}, return_when=asyncio.FIRST_COMPLETED)
                opened.cancel()
                left.cancel()
                if ws.closed or left.done():
                    return ws
            frame = orjson.dumps(self.events[index])
            if index == start:
                self.last_sent.append(0)
            self.last_sent[-1] = self.events[index]["time_us"]
            if index % 2:
                await ws.send_bytes(frame)  # Jetstream frames may come as text or binary
            else:
                await ws.send_str(frame.decode())
        if end >= len(self.events):
            self.live = len(self.events)
            await quiet_drain(ws)  # caught up: stay connected, like a quiet live tail
            return ws
        self.live = end + self.advance_while_down
        await ws.close(code=1011, message=b"going away")
        return ws


RSS_ITEM = """<item><title>{title}</title><link>https://news.example/{i}</link>
<guid isPermaLink="false">news-{i}</guid>
<description>&lt;p&gt;About toxic waste {i}&lt;/p&gt;</description>
<pubDate>Mon, 04 Mar 2024 {hh:02d}:00:00 GMT</pubDate><category>Pollution</category></item>"""


def rss_document(items: range, title: str = "Story") -> bytes:
    body = "".join(RSS_ITEM.format(title=f"{title} {i}", i=i, hh=i % 24) for i in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>News Example</title><language>en</language>{body}</channel></rss>"
    ).encode()


@dataclass
class FakeFeed:
    """An RSS feed honouring If-None-Match; each version adds items."""

    versions: list[bytes]
    refusals: list[Refusal] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    version: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/feed.xml", self.feed)
        return app

    async def feed(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.headers))
        if self.refusals:
            status, headers = self.refusals.pop(0)
            return web.Response(status=status, headers=headers)
        etag = f'W/"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            self.version = min(self.version + 1, len(self.versions) - 1)  # changes next time
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=self.versions[self.version],
            headers={
                "ETag": etag,
                "Last-Modified": "Mon, 04 Mar 2024 12:00:00 GMT",
                "Content-Type": "application/rss+xml; charset=utf-8",
            },
        )


def reddit_child(i: int) -> dict[str, Any]:
    return {
        "kind": "t3",
        "data": {
            "id": f"p{i:05d}",
            "name": f"t3_p{i:05d}",
            "title": f"Toxic waste thread {i}",
            "selftext": "body text",
            "author": f"user{i % 30}",
            "subreddit": "environment",
            "created_utc": T0 + i * 10.0,
            "permalink": f"/r/environment/comments/p{i:05d}/x/",
            "url": f"https://www.reddit.com/r/environment/comments/p{i:05d}/x/",
            "score": 1,
        },
    }


@dataclass
class FakeReddit:
    """`/r/SUB/new.json`: newest first; `before` returns the page just newer than it."""

    posts: int
    visible: int = 0  # posts published so far
    step: int = 60  # more posts appear before each request
    refusals: list[Refusal] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/r/{sub}/new.json", self.new)
        return app

    async def new(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.query))
        self.agents.append(request.headers.get("User-Agent", ""))
        if self.refusals:
            status, headers = self.refusals.pop(0)
            return web.Response(status=status, headers=headers)
        self.visible = min(self.visible + self.step, self.posts)
        limit = int(request.query.get("limit", "25"))
        newest_first = list(range(self.visible - 1, -1, -1))
        before = request.query.get("before")
        if before:
            older = int(before.removeprefix("t3_p"))
            newer = [i for i in newest_first if i > older]
            page = newer[-limit:]
        else:
            page = newest_first[:limit]
        body = {
            "kind": "Listing",
            "data": {
                "after": None,
                "before": None,
                "dist": len(page),
                "children": [reddit_child(i) for i in page],
            },
        }
        headers = {
            "X-Ratelimit-Remaining": "95",
            "X-Ratelimit-Used": "5",
            "X-Ratelimit-Reset": "300",
        }
        return web.json_response(body, headers=headers)
