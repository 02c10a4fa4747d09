"""The HTTP server closes clients that never finish a request and caps open connections
(issue 14, D5): real sockets against the real app on port 0, with a tiny read timeout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from watcher.http.app import create_app
from watcher.http.guard import ConnectionGuard, serve
from watcher.playbooks.model import Playbook
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings
from watcher.sources.replay import ReplaySource

TIMEOUT = 0.2
SAFETY = 30.0  # only so a broken guard fails the test instead of hanging it


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read())


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll a condition with no event to wait on; `SAFETY` bounds the wait."""
    async with asyncio.timeout(SAFETY):
        while not predicate():  # noqa: ASYNC110 - there is no event to wait on
            await asyncio.sleep(0.01)


class Server:
    def __init__(self, guard: ConnectionGuard, drops: list[None]) -> None:
        self.guard, self.drops, self.port = guard, drops, 0
        self.release, self.held = asyncio.Event(), 0

    async def hold(self, _: web.Request) -> web.Response:
        self.held += 1
        await self.release.wait()
        return web.Response(text="held")

    async def stalled(self, sent: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(sent)
        await writer.drain()
        return reader, writer

    async def healthz(self) -> int:
        url = f"http://127.0.0.1:{self.port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return resp.status


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    drops: list[None] = []
    guard = ConnectionGuard(lambda: drops.append(None), read_timeout=TIMEOUT, max_connections=8)
    server = Server(guard, drops)
    routes = [web.post("/echo", echo), web.get("/hold", server.hold)]
    runner = await serve(
        create_app(CollectorRegistry(), [], lambda: 1, routes=routes), "127.0.0.1", 0, guard
    )
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


async def closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection."""
    return await asyncio.wait_for(reader.read(), SAFETY)


async def test_half_a_request_line_is_closed_and_healthz_still_answers(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    slow = [await server.stalled(b"GET /heal") for _ in range(5)]
    assert server.guard.open == 5
    assert await server.healthz() == 200  # answered while the stalled clients are open
    for reader, writer in slow:
        assert await closed(reader) == b""
        writer.close()
    assert len(server.drops) == 5
    warned = [r for r in caplog.records if r.name == "watcher.http.guard"]
    assert len(warned) == 1  # once a minute, not once a client
    assert "no whole request within 0.2 s" in warned[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_body_that_never_finishes_is_closed(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    reader, writer = await server.stalled(head + b"only ten b")
    assert await closed(reader) == b""
    writer.close()
    assert len(server.drops) == 1
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    reader, writer = await server.stalled(b"")
    assert await closed(reader) == b""
    writer.close()
    assert len(server.drops) == 1


async def test_whole_requests_are_answered_and_not_dropped(server: Server) -> None:
    async with aiohttp.ClientSession() as http:  # one keep-alive connection, many requests
        for _ in range(3):
            async with http.post(f"http://127.0.0.1:{server.port}/echo", data=b"x" * 5) as resp:
                assert await resp.read() == b"xxxxx"
    assert server.drops == []


async def test_over_the_cap_the_longest_stalled_client_makes_room(server: Server) -> None:
    slow = [await server.stalled(b"GET /") for _ in range(8)]
    assert server.guard.open == 8
    assert await server.healthz() == 200  # answered though the cap was full
    assert len(server.drops) == 1
    assert await closed(slow[0][0]) == b""  # the one that waited longest
    for r, w in slow:
        assert await closed(r) == b""
        w.close()


async def test_over_the_cap_of_requests_being_answered_a_new_client_is_refused(
    server: Server,
) -> None:
    busy = [await server.stalled(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n") for _ in range(8)]
    await wait_until(lambda: server.held == 8)
    reader, writer = await server.stalled(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await closed(reader) == b""  # refused: no answer at all
    writer.close()
    assert len(server.drops) == 1
    server.release.set()
    for r, w in busy:
        assert (await r.readline()).startswith(b"HTTP/1.1 200")
        w.close()


async def test_the_service_closes_a_stalled_client_and_counts_it(mini_playbook: Playbook) -> None:
    registry = CollectorRegistry()
    settings = Settings(http=HttpSettings(port=0, read_timeout=TIMEOUT))
    source = ReplaySource("test", lambda: iter([]))
    async with Service([mini_playbook], [source], [], settings, Wiring(registry=registry)) as svc:
        reader, writer = await asyncio.open_connection("127.0.0.1", svc.port)
        writer.write(b"POST /ingest HT")
        await writer.drain()
        assert await closed(reader) == b""
        writer.close()
        url = f"http://127.0.0.1:{svc.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            text = await resp.text()
    assert "groundswell_http_clients_dropped_total 1.0" in text.splitlines()
