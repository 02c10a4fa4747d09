from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable

import aiohttp
import orjson
from prometheus_client import CollectorRegistry

from responders.channels.console import ConsoleResponder
from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import background, crowd, lines
from watcher.playbooks.model import Playbook
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings
from watcher.sources.replay import ReplaySource


async def wait_for(predicate: Callable[[], bool]) -> None:
    """Poll a condition the service exposes no event for; pytest-timeout bounds the wait."""
    while not predicate():  # noqa: ASYNC110 - there is no event to wait on
        await asyncio.sleep(0.02)


async def scrape(port: int) -> str:
    """The service's `/metrics` page, as Prometheus would read it."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        return await resp.text()


async def test_service_serves_endpoints_and_prints_the_alert(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    posts = background(make_post, 6) + crowd(make_post, T0 + 6 * 3600, 200)
    data = [*lines(posts), b"{malformed\n"]

    def read() -> Iterable[bytes]:
        return iter(data)

    out = io.StringIO()
    registry = CollectorRegistry()
    source = ReplaySource("test", read)
    service = Service(
        [mini_playbook],
        [source],
        [ConsoleResponder(out)],
        Settings(http=HttpSettings(port=0)),
        Wiring(registry=registry),
    )
    stop = asyncio.Event()
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await wait_for(lambda: "NEW CAMPAIGN: waste" in out.getvalue())
        base = f"http://127.0.0.1:{service.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"{base}/readyz") as resp:
                body = orjson.loads(await resp.read())
                assert body["playbooks"] == 1
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
        stop.set()
        await asyncio.wait_for(runner, 15)
    assert 'groundswell_posts_received_total{source="test"} ' in text
    assert 'groundswell_posts_malformed_total{source="test"} 1.0' in text
    assert 'groundswell_alerts_total{kind="new",playbook="waste"} 1.0' in text
    brief = out.getvalue()
    for heading in ("Ready resources:", "Other authoritative voices:", "Offers of support:"):
        assert heading in brief
    assert "Our dumping report" in brief


async def test_stop_while_a_source_is_paced_shuts_down_promptly(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    posts = lines([make_post(T0 + i * 3600, "toxic waste") for i in range(10)])
    source = ReplaySource("slow", lambda: iter(posts), speed=1.0)  # an hour between posts
    service = Service(
        [mini_playbook], [source], [], Settings(http=HttpSettings(port=0), drain_seconds=2)
    )
    stop = asyncio.Event()
    async with service:
        runner = asyncio.create_task(service.run(stop))
        await wait_for(lambda: source.health.received >= 2)
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{service.port}/readyz") as resp,
        ):
            assert resp.status == 200
        stop.set()
        await asyncio.wait_for(runner, 10)
    assert source.health.finished
