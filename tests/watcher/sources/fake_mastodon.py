"""A fake Mastodon that speaks what the real one does: web host, streaming host, instance API.

Wire facts it copies (docs.joinmastodon.org methods/streaming.md, instance.md, timelines.md;
streaming/index.js `streamToHttp`): `:)` first, `:thump` every 15 s, `event:` and `data:`
written as separate chunks, a token on every stream (401 `Missing access token` without
one), `400 Unknown channel requested` on the streaming host for anything else (REST
included), the web host redirecting stream requests to the streaming host (path and query
kept), `/api/v1/instance` and `/api/v2/instance`, `min_id` pages newest first with reblogs
left out of the public timeline, and `delete` and `status.update` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.conftest import T0, rfc3339
from tests.watcher.sources.fakes import Refusal

_EXTRAS: dict[int, dict[str, Any]] = {
    1: {"spoiler_text": "CW: waste", "sensitive": True},
    5: {"language": None},
}


def _content(i: int, host: str) -> str:
    tag = (
        f'<a href="https://{host}/tags/dumpgate" class="mention hashtag" rel="tag">'
        "#<span>DumpGate</span></a>"
    )
    extra = {
        2: ' <span class="h-card" translate="no"><a href="https://other.example/@bob" '
        'class="u-url mention">@<span>bob</span></a></span>',
        3: ' <a href="https://news.example/reports/2024/dump" rel="nofollow noopener" '
        'target="_blank"><span class="invisible">https://</span><span class="ellipsis">'
        'news.example/reports/20</span><span class="invisible">24/dump</span></a>',
        4: " :blobcat:",
        5: " &lt;3 &#39;quoted&#39;",
    }.get(i % 7, "")
    return f"<p>Status {i} on {tag} toxic waste &amp; more{extra}</p>"


def mastodon_status(i: int, host: str = "social.example") -> dict[str, Any]:
    """A public Status as Mastodon serialises it; `i % 7` picks the awkward shapes."""
    sid = str(110_000_000_000_000_000 + i)
    user = f"u{i % 40}"
    acct = f"{user}@remote.example" if i % 7 == 6 else user  # remote accounts carry @domain
    status: dict[str, Any] = {
        "id": sid,
        "uri": f"https://{host}/users/{user}/statuses/{sid}",
        "url": f"https://{host}/@{user}/{sid}",
        "created_at": rfc3339(T0 + i),
        "edited_at": None,
        "visibility": "public",
        "sensitive": False,
        "language": "en",
        "content": _content(i, host),
        "spoiler_text": "",
        "reblog": None,
        "in_reply_to_id": None,
        "mentions": [{"acct": "bob@other.example", "username": "bob"}] if i % 7 == 2 else [],
        "emojis": [{"shortcode": "blobcat", "url": "https://x/b.png", "static_url": "x"}]
        if i % 7 == 4
        else [],
        "account": {"id": str(i % 40), "acct": acct, "username": user, "followers_count": i},
        "tags": [{"name": "DumpGate", "url": f"https://{host}/tags/dumpgate"}],
        **_EXTRAS.get(i % 7, {}),
    }
    return status


def mastodon_reblog(i: int, of: dict[str, Any], host: str = "social.example") -> dict[str, Any]:
    """A boost of `of`: its own id and uri (`…/activity`), no content of its own."""
    status = mastodon_status(i, host)
    status.update(content="", reblog=of, tags=[], uri=status["uri"] + "/activity", url=None)
    return status


def mastodon_timeline(n: int, *, reblog_every: int = 0) -> list[dict[str, Any]]:
    out = [mastodon_status(i) for i in range(n)]
    if reblog_every:
        for i in range(reblog_every - 1, n, reblog_every):
            out[i] = mastodon_reblog(i, mastodon_status(i, "other.example"))
    return out


def is_reblog(status: dict[str, Any]) -> bool:
    return status.get("reblog") is not None


@dataclass
class FakeMastodon:
    """One instance: `app()` is its web host, `streaming_app()` its streaming host.

    Each stream connection sends `per_connection` statuses and then ends the response; while
    nobody is connected `gap` statuses are published that only the REST timeline returns
    (reblogs among them are lost: the public timeline leaves reblogs out). `streamed` holds
    the indices of every status written to a stream.
    """

    statuses: list[dict[str, Any]]
    token: str = "bot-token"
    domain: str = "social.example"  # LOCAL_DOMAIN, not the host we listen on
    per_connection: int = 120
    gap: int = 25
    resend: int = 3  # statuses repeated at a reconnect, as a restarted server might
    heartbeat_s: float = 15.0
    clock: Callable[[], float] = time.monotonic  # when the next :thump is due
    edit_every: int = 0  # after every Nth status, a `status.update` of an earlier one
    refusals: list[Refusal] = field(default_factory=list)
    backfill_refusals: list[Refusal] = field(default_factory=list)  # status 0: disconnect
    instance_failures: int = 0  # the instance API answers 503 this many times first
    v2: bool = True  # False: a server older than 4.0, /api/v2/instance is 404
    streaming_base: str = ""  # what the instance API names; "" for the web host itself
    redirect_to: str = ""  # the web host redirects stream requests to this base
    stall_first: bool = False
    heartbeats_only: int = 0  # first connection: this many :thump and nothing else
    raw_events: list[str] = field(default_factory=list)  # sent at each connection start
    connections: int = 0
    streams: int = 0  # connections that were accepted
    instance_calls: int = 0
    edits_sent: int = 0
    redirects: int = 0
    rest_calls: list[dict[str, str]] = field(default_factory=list)
    streamed: set[int] = field(default_factory=set)
    published: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/instance", self.instance_v1)
        app.router.add_get("/api/v2/instance", self.instance_v2)
        app.router.add_get("/api/v1/streaming/{channel:.*}", self.web_stream)
        app.router.add_get("/api/v1/timelines/public", self.timeline)
        app.router.add_get("/api/v1/timelines/tag/{tag}", self.timeline)
        return app

    def streaming_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/streaming/{channel:.*}", self.stream)
        app.router.add_route("*", "/{tail:.*}", self.unknown_channel)
        return app

    async def unknown_channel(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "Unknown channel requested"}, status=400)

    def _instance_answer(self, request: web.Request) -> tuple[str, web.Response | None]:
        self.instance_calls += 1
        if self.instance_failures > 0:
            self.instance_failures -= 1
            return "", web.json_response({"error": "busy"}, status=503)
        return self.streaming_base or f"ws://{request.host}", None

    async def instance_v2(self, request: web.Request) -> web.Response:
        if not self.v2:
            return web.json_response({"error": "Record not found"}, status=404)
        streaming, refused = self._instance_answer(request)
        return refused or web.json_response(
            {
                "domain": self.domain,
                "title": "Social Example",
                "version": "4.3.2",
                "source_url": "https://github.com/mastodon/mastodon",
                "configuration": {
                    "urls": {"streaming": streaming, "status": None},
                    "statuses": {"max_characters": 500},
                },
            }
        )

    async def instance_v1(self, request: web.Request) -> web.Response:
        streaming, refused = self._instance_answer(request)
        return refused or web.json_response(
            {
                "uri": self.domain,
                "title": "Social Example",
                "version": "3.5.5",
                "urls": {"streaming_api": streaming},
                "stats": {"user_count": 40},
            }
        )

    async def web_stream(self, request: web.Request) -> web.StreamResponse:
        if not self.redirect_to:
            return await self.stream(request)
        self.redirects += 1  # Rails' streaming controller: same path on the streaming host
        raise web.HTTPMovedPermanently(self.redirect_to.rstrip("/") + request.path_qs)

    def _refused(self, request: web.Request) -> web.Response | None:
        channel = request.match_info["channel"]
        auth = request.headers.get("Authorization")
        if auth is None and "access_token" not in request.query:
            return web.json_response({"error": "Missing access token"}, status=401)
        if auth != f"Bearer {self.token}":
            return web.json_response({"error": "Invalid access token"}, status=401)
        if channel not in ("public", "public/local", "hashtag", "hashtag/local"):
            return web.json_response({"error": "Unknown channel requested"}, status=400)
        if channel.startswith("hashtag") and not request.query.get("tag"):
            return web.json_response({"error": "Missing tag name parameter"}, status=400)
        if self.refusals:
            status, headers = self.refusals.pop(0)
            return web.json_response({"error": "busy"}, status=status, headers=headers)
        return None

    async def stream(self, request: web.Request) -> web.StreamResponse:
        self.connections += 1
        refused = self._refused(request)
        if refused is not None:
            return refused
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await resp.prepare(request)
        await resp.write(b":)\n")
        self.streams += 1
        with contextlib.suppress(ConnectionResetError):
            await self._feed(resp)
        return resp

    async def _feed(self, resp: web.StreamResponse) -> None:
        last_beat = self.clock()

        async def beat_if_due() -> None:
            nonlocal last_beat
            if self.clock() - last_beat >= self.heartbeat_s:
                await resp.write(b":thump\n")
                last_beat = self.clock()

        if self.streams == 1 and self.stall_first:
            await asyncio.sleep(3600)  # accepted, then silent: the client must give up first
        if self.streams == 1 and self.heartbeats_only:
            for _ in range(self.heartbeats_only):
                await resp.write(b":thump\n")
                await asyncio.sleep(self.heartbeat_s)
            return
        for raw in self.raw_events:
            await resp.write(raw.encode())
        if self.streams > 1:
            self.published = min(self.published + self.gap, len(self.statuses))
        start = max(self.published - (self.resend if self.streams > 1 else 0), 0)
        end = min(self.published + self.per_connection, len(self.statuses))
        for i in range(start, end):
            await self._event(resp, "update", orjson.dumps(self.statuses[i]))
            self.streamed.add(i)
            if i % 10 == 0:
                await self._event(resp, "delete", self.statuses[i]["id"].encode())
            if self.edit_every and i % self.edit_every == 0 and i >= 3:
                edited = {**self.statuses[i - 3], "edited_at": rfc3339(T0 + i)}
                edited["content"] = edited["content"].replace("toxic", "(edited) toxic")
                await self._event(resp, "status.update", orjson.dumps(edited))
                self.edits_sent += 1
            await beat_if_due()
        self.published = max(self.published, end)
        if end >= len(self.statuses):
            while True:  # caught up: heartbeats until the client leaves
                await asyncio.sleep(self.heartbeat_s)
                await resp.write(b":thump\n")

    @staticmethod
    async def _event(resp: web.StreamResponse, name: str, data: bytes) -> None:
        await resp.write(f"event: {name}\n".encode())  # two chunks, as streamToHttp writes
        await resp.write(b"data: " + data + b"\n\n")

    async def timeline(self, request: web.Request) -> web.Response:
        self.rest_calls.append(dict(request.query))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {"error": "This API requires an authenticated user"}, status=401
            )
        if self.backfill_refusals:
            status, headers = self.backfill_refusals.pop(0)
            if status == 0 and request.transport is not None:  # 0: drop the connection
                request.transport.close()
            return web.json_response({"error": "nope"}, status=status or 500, headers=headers)
        min_id = int(request.query.get("min_id", "0"))
        limit = min(int(request.query.get("limit", "20")), 40)
        newer = [
            s
            for s in self.statuses[: self.published]
            if int(s["id"]) > min_id and not is_reblog(s)  # the public timeline omits boosts
        ]
        page = newer[:limit]  # the ones immediately after min_id ...
        return web.json_response(page[::-1])  # ... newest first, as Mastodon returns them
