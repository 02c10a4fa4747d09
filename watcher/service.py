"""The long-running service: sources → engine → responders, with HTTP endpoints.

Stages are joined by bounded queues, so a slow stage slows the one before it instead of
growing memory. Shutdown is ordered: stop the sources, drain the posts queue, deliver the
pending alerts, close the responders, stop the HTTP server, each step within a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from responders.alert import Alert
from responders.base import Responder
from watcher.engine import Engine
from watcher.metrics import Metrics
from watcher.playbook import Playbook
from watcher.post import Post
from watcher.sources.base import Source

log = logging.getLogger("groundswell")

POSTS_QUEUE = 64  # batches
ALERTS_QUEUE = 256


class Service:
    """`async with Service(...) as svc: await svc.run(stop)` runs until `stop` is set."""

    def __init__(
        self,
        playbooks: Sequence[Playbook],
        sources: Sequence[Source],
        responders: Sequence[Responder],
        *,
        registry: CollectorRegistry | None = None,
        host: str = "127.0.0.1",
        port: int = 9108,
        drain_seconds: float = 10.0,
        routes: Sequence[web.RouteDef] = (),
        on_refresh: Callable[[Metrics], None] | None = None,
    ) -> None:
        self.engine = Engine(playbooks)
        self.sources = list(sources)
        self.responders = list(responders)
        self.metrics = Metrics(registry or CollectorRegistry())
        self.host, self.port = host, port
        self.drain_seconds = drain_seconds
        self._posts: asyncio.Queue[Sequence[Post]] = asyncio.Queue(POSTS_QUEUE)
        self._alerts: asyncio.Queue[Alert] = asyncio.Queue(ALERTS_QUEUE)
        self._runner: web.AppRunner | None = None
        self.routes = list(routes)  # e.g. Slack's interactivity endpoint
        self.on_refresh = on_refresh  # e.g. outbox and feedback figures for /metrics

    # -- HTTP ------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics_handler)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.add_routes(self.routes)
        return app

    async def _metrics_handler(self, request: web.Request) -> web.StreamResponse:
        self._refresh_metrics()
        handler = make_aiohttp_handler(self.metrics.registry)
        return await handler(request)

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        sources = {s.name: s.health.connected for s in self.sources}
        ready = bool(self.engine.playbooks) and any(sources.values())
        body = {"ready": ready, "playbooks": len(self.engine.playbooks), "sources": sources}
        return web.json_response(body, status=200 if ready else 503)

    def _refresh_metrics(self) -> None:
        now = time.time()
        for source in self.sources:
            self.metrics.observe_source(source.name, source.health, now)
        self.metrics.observe_engine(self.engine)
        self.metrics.queue_depth.labels("posts").set(self._posts.qsize())
        self.metrics.queue_depth.labels("alerts").set(self._alerts.qsize())
        if self.on_refresh is not None:
            self.on_refresh(self.metrics)

    async def __aenter__(self) -> Service:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]  # the real port when 0 asked for any
        log.info("serving /metrics, /healthz and /readyz on http://%s:%d", self.host, self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for responder in self.responders:
            await responder.aclose()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- stages ----------------------------------------------------------------------------
    async def _pump(self, source: Source) -> None:
        try:
            async for batch in source.stream():
                await self._posts.put(batch)
        except Exception as exc:  # a broken source must never take the service down
            source.health.last_error = repr(exc)
            log.exception("source %s stopped", source.name)
        else:
            log.info("source %s finished", source.name)

    async def _detect(self) -> None:
        while True:
            batch = await self._posts.get()
            try:
                with self.metrics.batch_seconds.time():
                    self.engine.feed_posts(batch)
                for alert in self.engine.drain_alerts():
                    self.metrics.alerts.labels(alert.surge.playbook, alert.surge.kind).inc()
                    await self._alerts.put(alert)
            finally:
                self._posts.task_done()

    async def _respond(self) -> None:
        while True:
            alert = await self._alerts.get()
            try:
                for responder in self.responders:
                    with self.metrics.delivery_seconds.labels(responder.name).time():
                        delivery = await responder.send(alert)
                    self.metrics.deliveries.labels(responder.name, delivery.outcome).inc()
                    if delivery.outcome == "failed":
                        log.warning("delivery via %s failed: %s", responder.name, delivery.reason)
            finally:
                self._alerts.task_done()

    async def run(self, stop: asyncio.Event) -> None:
        """Run every stage until `stop` is set, then shut down in order."""
        pumps = [asyncio.create_task(self._pump(s), name=f"source:{s.name}") for s in self.sources]
        workers = [
            asyncio.create_task(self._detect(), name="engine"),
            asyncio.create_task(self._respond(), name="responders"),
        ]
        try:
            await stop.wait()
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.drain_seconds):
                    await self._posts.join()
                    await self._alerts.join()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._refresh_metrics()


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop`, so shutdown runs its ordered drain."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
