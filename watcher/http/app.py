"""The service's aiohttp application: `/metrics`, `/healthz`, `/readyz`, and the routes of
the features fed over HTTP (`POST /ingest` for each ingest source, Slack's interactivity);
and a cluster process's smaller one (`create_cluster_app`).

This package is the only place that builds routes or a `web.Application`; the service only
runs it. The endpoints read the running service through plain values and callables, so they
import nothing from `watcher/service/`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from watcher.http.ingest import ingest_route
from watcher.sources.base import Source
from watcher.sources.ingest import IngestSource


def create_app(
    registry: CollectorRegistry,
    sources: Sequence[Source],
    playbooks: Callable[[], int],
    *,
    before_scrape: Callable[[], None] | None = None,
    routes: Sequence[web.RouteDef] = (),
    skipped: Callable[[], Sequence[str]] = tuple,
    faults: Callable[[], Sequence[str]] | None = None,
) -> web.Application:
    """The application serving `registry`, the health of `sources` and the extra `routes`.

    `playbooks()` says how many playbooks run now (readiness needs one); `skipped()` names
    the playbook files left out for their errors; `faults()` names what makes the service
    unready beside its sources (a failing outbox); `before_scrape()` runs before each
    `/metrics` answer, e.g. to read the outbox's figures from SQLite.
    """
    app = web.Application()
    app.router.add_get("/metrics", metrics_endpoint(registry, before_scrape))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz_endpoint(sources, playbooks, skipped, faults))
    app.router.add_routes([ingest_route(s) for s in sources if isinstance(s, IngestSource)])
    app.router.add_routes(routes)
    return app


def metrics_endpoint(
    registry: CollectorRegistry, before_scrape: Callable[[], None] | None = None
) -> Handler:
    """`GET /metrics`: the registry in Prometheus' text format."""
    expose = make_aiohttp_handler(registry)

    async def handle(request: web.Request) -> web.StreamResponse:
        if before_scrape is not None:
            before_scrape()
        return await expose(request)

    return handle


async def healthz(_: web.Request) -> web.Response:
    """`GET /healthz`: the process is alive and serving."""
    return web.json_response({"status": "ok"})


def readyz_endpoint(
    sources: Sequence[Source],
    playbooks: Callable[[], int],
    skipped: Callable[[], Sequence[str]] = tuple,
    faults: Callable[[], Sequence[str]] | None = None,
) -> Handler:
    """`GET /readyz`: 200 while some playbook runs, some source is connected and nothing is
    at fault (`faults()`, listed as `faults`), else 503.

    `status` is `degraded` while playbooks skipped for their errors (`skipped_playbooks`)
    are not watched: still 200, since the others alert and a restart would not fix a file.
    """

    async def handle(_: web.Request) -> web.Response:
        # A replay counts as connected while it reads; a finished one does not.
        connected = {s.name: s.health.connected for s in sources}
        running, left_out = playbooks(), list(skipped())
        problems = list(faults()) if faults is not None else []
        ready = bool(running) and any(connected.values()) and not problems
        status = ("degraded" if left_out else "ready") if ready else "not ready"
        body = {"ready": ready, "status": status, "playbooks": running, "sources": connected}
        body["skipped_playbooks"] = left_out
        if problems:
            body["faults"] = problems
        body["source_health"] = {s.name: s.health.as_json() for s in sources}
        return web.json_response(body, status=200 if ready else 503)

    return handle


def create_cluster_app(
    registry: CollectorRegistry,
    faults: Callable[[], Sequence[str]],
    routes: Sequence[web.RouteDef] = (),
) -> web.Application:
    """A cluster process's `/metrics`, `/healthz` and `/readyz`: 200 while `faults()` (what
    keeps it from doing its part: no broker, a lease it cannot renew) is empty, else 503;
    and its own `routes` (an ingest's `POST /ingest`)."""
    app = web.Application()
    app.router.add_routes(routes)
    app.router.add_get("/metrics", metrics_endpoint(registry))
    app.router.add_get("/healthz", healthz)

    async def readyz(_: web.Request) -> web.Response:
        problems = list(faults())
        body = {"ready": not problems, "status": "not ready" if problems else "ready"}
        return web.json_response({**body, "faults": problems}, status=503 if problems else 200)

    app.router.add_get("/readyz", readyz)
    return app
