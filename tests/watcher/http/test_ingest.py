"""`POST /ingest` on its own: the token, both size caps, and the per-line report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from tests.conftest import T0, PostFactory
from tests.watcher.service.test_service import wait_for
from tests.watcher.sources.fakes import serving
from watcher.http.ingest import ingest_route
from watcher.sources.ingest import IngestSource

AUTH = {"Authorization": "Bearer s3cret"}


def app_for(source: IngestSource) -> web.Application:
    app = web.Application()
    app.router.add_routes([ingest_route(source)])
    return app


async def post(
    source: IngestSource, data: object, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with (
        serving(app_for(source)) as server,
        aiohttp.ClientSession() as http,
        http.post(server.make_url("/ingest"), data=data, headers=headers) as resp,
    ):
        body: dict[str, Any] = orjson.loads(await resp.read())
        return resp.status, body


async def test_a_wrong_or_missing_token_is_refused(make_post: PostFactory) -> None:
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    body = orjson.dumps(make_post(T0, "toxic waste"))
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "s3cret"}):
        assert await post(source, body, headers) == (
            401,
            {"error": "missing or wrong bearer token"},
        )
    assert source.health.received == 0


async def test_a_body_too_large_is_refused_by_its_length_or_while_streaming() -> None:
    source = IngestSource("s3cret", max_body=100, clock=lambda: T0, settle=0)
    refused = (413, {"error": "body larger than 100 bytes; send smaller batches"})
    assert await post(source, b"x" * 101, AUTH) == refused

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(3):
            yield b"y" * 40

    assert await post(source, chunks(), AUTH) == refused
    assert source.health.received == 0


async def test_each_lines_outcome_is_reported_and_accepted_posts_are_queued(
    make_post: PostFactory,
) -> None:
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    good = orjson.dumps(make_post(T0, "toxic waste"))
    status, report = await post(source, b"\n".join([good, b"{bad", good]), AUTH)
    assert status == 200
    assert {k: report[k] for k in ("accepted", "malformed", "duplicate")} == {
        "accepted": 1,
        "malformed": 1,
        "duplicate": 1,
    }
    assert report["errors"][0].startswith("line 2: ")
    batch = await anext(aiter(source.stream()))
    assert [p.text for p in batch] == ["toxic waste"]


async def test_a_line_nested_too_deep_is_one_malformed_line_beside_good_ones(
    make_post: PostFactory,
) -> None:
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    first, last = (orjson.dumps(make_post(T0, f"toxic waste {i}")) for i in range(2))
    deep = make_post(T0, "toxic waste deep")
    # nested past msgspec's recursion (the fast path) and orjson's depth limit (line by line)
    too_deep = orjson.dumps(deep)[:-1] + b', "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    # nested past msgspec's recursion only: a valid post, its unknown field ignored
    deep_but_json = orjson.dumps(deep)[:-1] + b', "extra": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    status, report = await post(source, b"\n".join([first, too_deep, deep_but_json, last]), AUTH)
    assert status == 200
    assert {k: report[k] for k in ("accepted", "malformed", "duplicate")} == {
        "accepted": 3,
        "malformed": 1,
        "duplicate": 0,
    }
    [error] = report["errors"]
    assert error.startswith("line 2: not JSON: depth limit exceeded: line 1 column ")
    batch = await anext(aiter(source.stream()))
    assert [p.text for p in batch] == ["toxic waste 0", "toxic waste deep", "toxic waste 1"]


async def test_a_carriage_return_inside_a_line_does_not_split_it(make_post: PostFactory) -> None:
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    spread = orjson.dumps(make_post(T0, "toxic waste")).replace(b'","', b'",\r"')
    crlf = orjson.dumps(make_post(T0, "gag order")) + b"\r"
    status, report = await post(source, b"\n".join([spread, b"{bad", crlf, b""]), AUTH)
    assert status == 200
    assert {k: report[k] for k in ("accepted", "malformed", "duplicate")} == {
        "accepted": 2,
        "malformed": 1,
        "duplicate": 0,
    }
    assert report["errors"][0].startswith("line 2: ")
    batch = await anext(aiter(source.stream()))
    assert [p.text for p in batch] == ["toxic waste", "gag order"]


async def test_a_byte_order_mark_does_not_reject_the_first_line(make_post: PostFactory) -> None:
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    bom = b"\xef\xbb\xbf"
    good = [orjson.dumps(make_post(T0, f"toxic waste {i}")) for i in range(4)]
    # a wholly good body (the one-call path) and one with a bad line (line by line)
    for body in (bom + b"\n".join(good[:2]), bom + b"\n".join([*good[2:], b"{"])):
        status, report = await post(source, body, AUTH)
        assert status == 200
        assert report["accepted"] == 2
    assert source.outcomes == {"accepted": 4, "malformed": 1, "duplicate": 0}
    assert report["errors"][0].startswith("line 3: ")


async def test_an_authorization_header_with_a_non_ascii_byte_is_a_401(
    make_post: PostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    body = orjson.dumps(make_post(T0, "toxic waste"))
    caplog.set_level(logging.INFO, "groundswell")
    async with serving(app_for(source)) as server:
        # raw bytes on the wire: HTTP clients refuse to send such a header
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(
            b"POST /ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cr\xe9t\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        answer = await reader.read()
        writer.close()
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert caplog.messages == ["ingest: refused a request without the right bearer token"]
    assert source.outcomes["accepted"] == 0


async def test_bodies_held_at_once_are_bounded_and_the_rest_get_503(
    make_post: PostFactory,
) -> None:
    """D7: memory is bounded by size: a body being read holds one of `bodies` slots; a
    request that finds none free within `wait` is told to come back, not buffered."""
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    app = web.Application()
    room = asyncio.Semaphore(1)
    app.router.add_routes([ingest_route(source, room=room, wait=0.05)])
    release = asyncio.Event()
    line = orjson.dumps(make_post(T0, "toxic waste slow")) + b"\n"

    async def slow() -> AsyncIterator[bytes]:  # holds its slot until released
        yield line
        await release.wait()

    async with serving(app) as server, aiohttp.ClientSession() as http:
        url = server.make_url("/ingest")
        first = asyncio.create_task(http.post(url, data=slow(), headers=AUTH))
        await wait_for(room.locked)  # the slow body is being read
        fast = orjson.dumps(make_post(T0, "toxic waste fast"))
        async with http.post(url, data=fast, headers=AUTH) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "1"
            assert orjson.loads(await resp.read()) == {"error": "busy; retry shortly"}
        release.set()
        async with await first as resp:
            assert resp.status == 200
        async with http.post(url, data=fast, headers=AUTH) as resp:
            assert resp.status == 200
            assert (await resp.json())["accepted"] == 1


def test_the_ingest_dedup_remembers_hashes_not_ids(make_post: PostFactory) -> None:
    source = IngestSource("s3cret", clock=lambda: T0, settle=0)
    long_id = "i" * 1_000
    accepted, _ = source.parse(orjson.dumps(make_post(T0, "toxic waste", id=long_id)))
    assert len(accepted) == 1
    remembered = [*source._seen._young, *source._seen._old]
    assert remembered == [hash(long_id)]
    _, report = source.parse(orjson.dumps(make_post(T0, "toxic waste", id=long_id)))
    assert report["duplicate"] == 1
