"""`POST /ingest` on its own: the token, both size caps, and the per-line report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from tests.conftest import T0, PostFactory
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
    source = IngestSource("s3cret", clock=lambda: T0)
    body = orjson.dumps(make_post(T0, "toxic waste"))
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "s3cret"}):
        assert await post(source, body, headers) == (
            401,
            {"error": "missing or wrong bearer token"},
        )
    assert source.health.received == 0


async def test_a_body_too_large_is_refused_by_its_length_or_while_streaming() -> None:
    source = IngestSource("s3cret", max_body=100, clock=lambda: T0)
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
    source = IngestSource("s3cret", clock=lambda: T0)
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
