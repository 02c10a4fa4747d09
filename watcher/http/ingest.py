"""`POST /ingest`: the HTTP side of the ingest source (`watcher/sources/ingest.py`).

The handler checks the bearer token, bounds the body (by its declared length, then while
reading it), and hands it to the source, which parses it, queues the new posts and says what
became of each line. At most `MAX_BODIES` bodies are read and held at once, so memory is
bounded by size (`MAX_BODIES` × the body cap) and not by how many clients send at once; a
request that finds no room within `WAIT_S` gets 503 with `Retry-After`. Answers are JSON:
401 without the right token (one log line each), 413 for a body too large, 503 when busy or
when the posts could not be kept (the cluster's broker did not acknowledge them), 200 with
the per-line report otherwise.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiohttp import web

from watcher.sources.ingest import Ingestor, IngestUnavailable

log = logging.getLogger("groundswell")

PATH = "/ingest"
CHUNK = 2**16
MAX_BODIES = 4  # request bodies read and held at once
WAIT_S = 5.0  # longest a request waits for room before a 503


def ingest_route(
    source: Ingestor, *, room: asyncio.Semaphore | None = None, wait: float = WAIT_S
) -> web.RouteDef:
    """The POST route that feeds `source`; `room` (`MAX_BODIES` slots unless given) bounds
    the request bodies read and held at once."""
    room = room or asyncio.Semaphore(MAX_BODIES)

    async def handle(request: web.Request) -> web.Response:
        received_at = asyncio.get_running_loop().time()
        if not source.authorized(request.headers.get("Authorization", "")):
            log.warning("ingest: refused a request without the right bearer token")
            return _json(
                {"error": "missing or wrong bearer token"},
                401,
                {"WWW-Authenticate": 'Bearer realm="groundswell-ingest"'},
            )
        limit = source.max_body
        if request.content_length is not None and request.content_length > limit:
            return _too_large(limit)
        try:
            await asyncio.wait_for(room.acquire(), wait)
        except TimeoutError:
            return _json({"error": "busy; retry shortly"}, 503, {"Retry-After": "1"})
        try:
            body = bytearray()
            async for chunk in request.content.iter_chunked(CHUNK):
                body += chunk
                if len(body) > limit:
                    return _too_large(limit)
            return _json(await source.accept(bytes(body), received_at), 200)
        except IngestUnavailable as exc:  # nothing was kept: the sender must retry
            log.warning("ingest: %s", exc)
            return _json({"error": f"{exc}; retry shortly"}, 503, {"Retry-After": "1"})
        finally:
            room.release()

    return web.post(PATH, handle)


def _too_large(limit: int) -> web.Response:
    return _json({"error": f"body larger than {limit} bytes; send smaller batches"}, 413)


def _json(body: object, status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )
