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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from responders.alert import Alert
from responders.base import Responder
from responders.delivery.outbox import Outbox
from watcher.pipeline.dedup import Dedup
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook
from watcher.playbooks.reload import PlaybookReloader
from watcher.post import Post
from watcher.service import checkpoint
from watcher.service.feedback import POLL_SECONDS, apply_false_alarms
from watcher.service.metrics import Metrics
from watcher.service.record import Recorder
from watcher.settings import Settings
from watcher.sources.base import Batch, Source
from watcher.sources.supervisor import supervise

log = logging.getLogger("groundswell")

POSTS_QUEUE = 64  # batches
ALERTS_QUEUE = 256


@dataclass(frozen=True)
class Wiring:
    """What composition plugs into a service beside its playbooks, sources and responders.

    Each part is optional: a test builds a service from a playbook, a source and a responder.
    """

    registry: CollectorRegistry | None = None  # where the metrics live (None: a fresh one)
    dedup: Dedup | None = None  # drops posts already seen from any source
    recorder: Recorder | None = None  # appends every admitted post to a file
    watch: Sequence[Path] = ()  # playbook paths to hot-reload from
    routes: Sequence[web.RouteDef] = ()  # e.g. Slack's interactivity endpoint
    on_refresh: Callable[[Metrics], None] | None = None  # e.g. outbox figures for /metrics
    outbox: Outbox | None = None  # button clicks: "Not a campaign" ones are read back


class Service:
    """`async with Service(...) as svc: await svc.run(stop)` runs until `stop` is set.

    `settings` gives the address, the state file (none: no checkpoints) and the timings;
    `wiring` the optional collaborators composition builds (`watcher/service/compose.py`).
    """

    def __init__(
        self,
        playbooks: Sequence[Playbook],
        sources: Sequence[Source],
        responders: Sequence[Responder],
        settings: Settings | None = None,
        wiring: Wiring | None = None,
    ) -> None:
        settings = settings or Settings()
        wiring = wiring or Wiring()
        self.settings = settings
        self.engine = Engine(playbooks)
        self.state, self.checkpoint_seconds = settings.state, settings.checkpoint_seconds
        self.sources = list(sources)
        self.responders = list(responders)
        self.metrics = Metrics(wiring.registry or CollectorRegistry(), started=time.time())
        self.host, self.port = settings.http.host, settings.http.port
        self.drain_seconds = settings.drain_seconds
        self.reloader = (
            PlaybookReloader(
                wiring.watch,
                self.engine.replace_playbooks,
                lambda ok: self.metrics.observe_reload(
                    ok=ok, playbooks=[p.name for p in self.engine.playbooks]
                ),
                debounce_ms=settings.reload_debounce_ms,
            )
            if wiring.watch
            else None
        )
        # (when the batch arrived, the batch): the stamp feeds the decision-latency histogram
        self._posts: asyncio.Queue[tuple[float, Sequence[Post]]] = asyncio.Queue(POSTS_QUEUE)
        self._alerts: asyncio.Queue[Alert] = asyncio.Queue(ALERTS_QUEUE)
        self.metrics.init_labels(
            sources=[s.name for s in self.sources],
            playbooks=[p.name for p in self.engine.playbooks],
            responders=[r.name for r in self.responders],
            queues={"posts": POSTS_QUEUE, "alerts": ALERTS_QUEUE},
        )
        self._runner: web.AppRunner | None = None
        self.dedup = wiring.dedup
        self.recorder = wiring.recorder
        self.source_buffer = settings.source_buffer
        self.routes = list(wiring.routes)
        self.on_refresh = wiring.on_refresh
        self.outbox = wiring.outbox

    # -- HTTP ------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics_handler)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        for source in self.sources:  # sources fed over HTTP (POST /ingest) add their routes
            app.router.add_routes(source.routes())
        app.add_routes(self.routes)
        return app

    async def _metrics_handler(self, request: web.Request) -> web.StreamResponse:
        self._refresh_metrics()
        handler = make_aiohttp_handler(self.metrics.registry)
        return await handler(request)

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        # A replay counts as connected while it reads; a finished one does not.
        sources = {s.name: s.health.connected for s in self.sources}
        ready = bool(self.engine.playbooks) and any(sources.values())
        body = {"ready": ready, "playbooks": len(self.engine.playbooks), "sources": sources}
        body["source_health"] = {s.name: s.health.as_json() for s in self.sources}
        return web.json_response(body, status=200 if ready else 503)

    def _refresh_metrics(self) -> None:
        now = time.time()
        for source in self.sources:
            self.metrics.observe_source(source.name, source.health, now)
        self.metrics.observe_engine(self.engine)
        self.metrics.observe_clock(now)
        self.metrics.queue_depth.labels("posts").set(self._posts.qsize())
        self.metrics.queue_depth.labels("alerts").set(self._alerts.qsize())
        if self.on_refresh is not None:
            self.on_refresh(self.metrics)

    # -- checkpoints -----------------------------------------------------------------------
    def _restore(self) -> None:
        if self.state is None:
            return
        restored = checkpoint.load(self.engine, self.state)
        log.info("restored detector state for %d playbooks from %s", len(restored), self.state)

    async def _checkpoint(self) -> None:
        """Pickle between batches (on the loop, so the copy is consistent); write off it."""
        if self.state is None:
            return
        snap = checkpoint.snapshot(self.engine)
        await asyncio.to_thread(checkpoint.write, self.state, snap)
        self.metrics.observe_checkpoint(time.time())

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(self.checkpoint_seconds)
            try:
                await self._checkpoint()
            except Exception:  # a full disk must not stop detection; say so and go on
                log.exception("checkpoint to %s failed", self.state)

    # -- feedback --------------------------------------------------------------------------
    def apply_feedback(self) -> int:
        """Make detectors stricter for "Not a campaign" clicks not applied yet; how many."""
        return 0 if self.outbox is None else apply_false_alarms(self.engine, self.outbox)

    def _poll_feedback(self) -> None:
        try:
            self.apply_feedback()
        except Exception:  # a locked or broken outbox must not stop detection; say so
            log.exception("reading button feedback from the outbox failed")

    async def _feedback(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            self._poll_feedback()

    async def __aenter__(self) -> Service:
        self._restore()
        self._poll_feedback()  # clicks made while the service was down
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
        await supervise(source, self._admit, buffer=self.source_buffer)

    async def _admit(self, source: Source, batch: Batch) -> None:
        """Deduplicate across sources, record, then queue for the engine (waiting if full)."""
        posts: Sequence[Post] = batch
        if self.dedup is not None:
            posts = self.dedup.fresh(batch)
            source.health.duplicates += len(batch) - len(posts)
        if not posts:
            return
        if self.recorder is not None:
            self.recorder.write(posts)
        await self._posts.put((batch.received_at, posts))

    async def _detect(self) -> None:
        while True:
            received_at, batch = await self._posts.get()
            try:
                with self.metrics.batch_seconds.time():
                    self.engine.feed_posts(batch)
                decided = asyncio.get_running_loop().time()
                self.metrics.decision_latency.observe(max(decided - received_at, 0.0))
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
                    self.metrics.observe_delivery(responder.name, delivery.outcome)
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
            asyncio.create_task(self._checkpoints(), name="checkpoints"),
            asyncio.create_task(self._feedback(), name="feedback"),
        ]
        if self.reloader is not None:
            workers.append(asyncio.create_task(self.reloader.run(), name="reload"))
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
            self._poll_feedback()  # so the last checkpoint holds every click made until now
            await self._checkpoint()
            self._refresh_metrics()


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop`, so shutdown runs its ordered drain."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
