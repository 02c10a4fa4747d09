"""The HTTP app on its own: health, readiness, metrics, and which routes it mounts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import aiohttp
import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from tests.conftest import T0
from tests.watcher.sources.fakes import serving
from watcher.http.app import create_app
from watcher.post import Post
from watcher.sources.base import Source, SourceHealth
from watcher.sources.ingest import IngestSource


class Idle:
    """A source that never yields: only its name and health matter here."""

    firehose = False
    relays = False

    def __init__(self, name: str, *, connected: bool) -> None:
        self.name, self.health = name, SourceHealth(connected=connected)

    async def stream(self) -> AsyncIterator[Sequence[Post]]:
        await asyncio.Event().wait()
        yield []


async def get(app: web.Application, path: str) -> tuple[int, bytes]:
    async with (
        serving(app) as server,
        aiohttp.ClientSession() as http,
        http.get(server.make_url(path)) as resp,
    ):
        return resp.status, await resp.read()


async def test_ready_needs_a_playbook_and_a_connected_source() -> None:
    sources: list[Source] = [Idle("a", connected=False), Idle("b", connected=True)]
    running = 1
    app = create_app(CollectorRegistry(), sources, lambda: running)
    status, body = await get(app, "/readyz")
    assert status == 200
    ready = orjson.loads(body)
    assert {k: ready[k] for k in ("ready", "playbooks", "sources")} == {
        "ready": True,
        "playbooks": 1,
        "sources": {"a": False, "b": True},
    }
    assert ready["source_health"]["b"] == SourceHealth(connected=True).as_json()
    running = 0
    status, body = await get(create_app(CollectorRegistry(), sources, lambda: running), "/readyz")
    assert (status, orjson.loads(body)["ready"]) == (503, False)
    assert await get(app, "/healthz") == (200, b'{"status": "ok"}')


async def test_metrics_are_refreshed_before_each_scrape() -> None:
    registry = CollectorRegistry()
    scrapes = Counter("scrapes", "Times /metrics was asked.", registry=registry)
    app = create_app(registry, [], lambda: 1, before_scrape=scrapes.inc)
    await get(app, "/metrics")
    status, text = await get(app, "/metrics")
    assert status == 200
    assert b"scrapes_total 2.0" in text


def paths(app: web.Application) -> set[str]:
    return {route.resource.canonical for route in app.router.routes() if route.resource}


async def test_ingest_is_mounted_for_each_ingest_source_and_extra_routes_are_added() -> None:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hi")

    ingest = IngestSource("t", clock=lambda: T0)
    app = create_app(CollectorRegistry(), [ingest], lambda: 1, routes=[web.get("/hello", hello)])
    assert paths(app) == {"/healthz", "/hello", "/ingest", "/metrics", "/readyz"}
    assert await get(app, "/hello") == (200, b"hi")
    plain = create_app(CollectorRegistry(), [Idle("a", connected=True)], lambda: 1)
    assert "/ingest" not in paths(plain)
