"""A local stand-in for Slack's Web API that speaks its wire format, failures included.

It answers `chat.postMessage`, `chat.update`, `conversations.history` and
`conversations.replies` the way Slack does (`{"ok": true, "ts": …, "channel": "C…"}`,
`{"ok": false, "error": …}`, HTTP 429 with `Retry-After`, 5xx), keeps the messages it
accepted, and records every request. Scripted trouble is queued per method with `trouble`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

TOKEN = "xoxb-fake"  # a fake: secret scanners look for longer ones
APP_TOKEN = "xapp-test-token"


@dataclass
class Call:
    method: str
    body: dict[str, Any]


@dataclass
class Stored:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: int = 0


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    messages: list[Stored] = field(default_factory=list)
    #: method → queue of troubles: ("pass",) | ("429", retry_after) | ("500",) | ("slow", s)
    #: | ("error", code) | ("accept_then_hang",): store the post, answer only after `release`
    #: (the client has long given up by then, or been killed).
    troubles: dict[str, deque[tuple[Any, ...]]] = field(default_factory=dict)
    hung: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    names: set[str] = field(default_factory=set)  # channel names seen, for conversations.list
    #: Socket Mode: envelopes to push to the next client that connects, and its acks.
    envelopes: list[dict[str, Any]] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    _count: int = 0

    def trouble(self, method: str, *items: tuple[Any, ...]) -> None:
        self.troubles.setdefault(method, deque()).extend(items)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_get("/link", self._socket)
        return app

    @staticmethod
    def channel_id(name: str) -> str:
        if name.startswith("C"):
            return name
        return "C" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()

    def top_level(self, channel: str) -> list[Stored]:
        cid = self.channel_id(channel)
        return [m for m in self.messages if m.channel == cid and m.thread_ts is None]

    def replies(self, top: Stored) -> list[Stored]:
        return [m for m in self.messages if m.thread_ts == top.ts]

    def successful(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.body.get("_answered") == "ok"]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        if request.content_type == "application/json":
            data: dict[str, Any] = orjson.loads(await request.read())
            return data
        return dict(await request.post())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        body = await self._body(request)
        call = Call(method, body)
        self.calls.append(call)
        if method == "apps.connections.open":
            if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
                return web.json_response({"ok": False, "error": "invalid_auth"})
            url = f"ws://{request.host}/link"
            return web.json_response({"ok": True, "url": url})
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        queue = self.troubles.get(method)
        if queue:
            kind, *args = queue.popleft()
            if kind == "429":
                call.body["_answered"] = "429"
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(args[0])},
                )
            if kind == "500":
                call.body["_answered"] = "500"
                return web.Response(status=500, text="internal error")
            if kind == "error":
                call.body["_answered"] = "error"
                return web.json_response({"ok": False, "error": args[0]})
            if kind == "slow":
                await asyncio.sleep(args[0])
            if kind == "accept_then_hang":
                self._answer(method, body)
                self.hung.set()
                await self.release.wait()
                call.body["_answered"] = "too late"
                return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        call.body["_answered"] = "ok"
        return web.json_response(self._answer(method, body))

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, push the queued envelopes, record the acks."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(orjson.dumps({"type": "hello", "num_connections": 1}).decode())
        for envelope in self.envelopes:
            await ws.send_str(orjson.dumps(envelope).decode())
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                envelope_id = orjson.loads(message.data).get("envelope_id")
                if envelope_id:
                    self.acks.append(str(envelope_id))
                    self.acked.set()
        return ws

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            return self._post(body)
        if method == "chat.update":
            return self._update(body)
        if method == "conversations.list":
            ids = {m.channel for m in self.messages}
            names = {n for n in self.names if self.channel_id(n) in ids}
            channels = [{"id": self.channel_id(n), "name": n.lstrip("#")} for n in sorted(names)]
            return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
        if method in {"conversations.history", "conversations.replies"}:
            return self._history(method, body)
        return {"ok": False, "error": "unknown_method"}

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        self._count += 1
        ts = f"{1700000000 + self._count}.{self._count:06d}"
        cid = self.channel_id(str(body["channel"]))
        self.names.add(str(body["channel"]))
        thread_ts = body.get("thread_ts")
        if thread_ts and not any(m.ts == thread_ts for m in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        blocks = body.get("blocks") or []
        if isinstance(blocks, str):
            blocks = orjson.loads(blocks)
        self.messages.append(
            Stored(cid, ts, str(body.get("text", "")), blocks, thread_ts, body.get("metadata"))
        )
        return {"ok": True, "channel": cid, "ts": ts, "message": {"text": body.get("text")}}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        for message in self.messages:
            if message.channel == body.get("channel") and message.ts == body.get("ts"):
                message.text = str(body.get("text", ""))
                message.blocks = body.get("blocks") or []
                message.edits += 1
                return {"ok": True, "channel": message.channel, "ts": message.ts}
        return {"ok": False, "error": "message_not_found"}

    def _history(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        cid = str(body.get("channel", ""))
        if not cid.startswith("C"):
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.history":
            found = [m for m in self.messages if m.channel == cid and m.thread_ts is None]
        else:
            ts = body.get("ts")
            found = [m for m in self.messages if m.channel == cid and ts in (m.ts, m.thread_ts)]
        with_meta = str(body.get("include_all_metadata", "")).lower() in {"1", "true"}
        out = []
        for m in reversed(found):
            item: dict[str, Any] = {"type": "message", "ts": m.ts, "text": m.text}
            if with_meta and m.metadata:
                item["metadata"] = m.metadata
            out.append(item)
        return {"ok": True, "messages": out, "has_more": False}


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[tuple[FakeSlack, str]]:
    """A `FakeSlack` on a free loopback port, and its Web API base URL."""
    fake = FakeSlack()
    runner = web.AppRunner(fake.app(), shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield fake, f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    finally:
        fake.release.set()  # a request held back by a test must not hold up the cleanup
        await runner.cleanup()
