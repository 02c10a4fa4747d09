"""The long-running service: sources → engine → responders, serving its HTTP app.

It runs named async stages, each its own task: `admit` (one per source: read it under
supervision, drop duplicates, record, queue), `detect` (the engine), `deliver` (one per lane
of the outbox), `respond` (responders without an outbox), `checkpoints`, `feedback` (button
clicks back into the detectors) and `reload` (playbook edits). Stages are joined by bounded
queues, so a slow stage slows the one before it instead of growing memory. The HTTP app
comes from `watcher/http/app.py`.

The outbox, not memory, is the queue of alerts (`watcher/service/alerts.py`): `detect`
stores each batch's alerts in it (one fsynced transaction) in the same step that fed the
batch to the engine, and a checkpoint, which moves the engine past those posts, is only
written while every alert detected so far is stored. When the outbox cannot be written (a
full disk) detection goes on and checkpoints wait, so a restart re-detects what memory held.

Shutdown is ordered: stop the sources, drain the posts queue, deliver the pending alerts
(what does not go out in time stays in the outbox for the next start), apply the last clicks
and checkpoint, close the responders, stop the HTTP server, each step within a deadline.

Long because the stages are the service: each is a few lines over the queues, the engine and
the alert store they share, and the ordered shutdown must see them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aiohttp import web
from prometheus_client import CollectorRegistry

from responders.alert import Alert
from responders.base import Responder
from responders.brief.brief import load_ranker
from responders.delivery.outbox import Outbox
from watcher.errors import GroundswellError
from watcher.http.app import create_app
from watcher.http.guard import ConnectionGuard, serve
from watcher.pipeline.dedup import Dedup
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook
from watcher.playbooks.reload import PlaybookReloader
from watcher.post import Post
from watcher.service import checkpoint
from watcher.service.alerts import AlertStore, DurableQueue
from watcher.service.feedback import POLL_SECONDS, apply_false_alarms
from watcher.service.metrics import Metrics
from watcher.service.record import Recorder
from watcher.service.supervisor import supervise
from watcher.settings import Settings
from watcher.sources.base import Batch, Settled, Source

log = logging.getLogger("groundswell")
Admitted = tuple[Source, Sequence[Post], Batch]  # (source, fresh posts, batch to settle)

POSTS_QUEUE = 64  # batches
#: Posts the engine takes between yields to the event loop. A batch of 500 spanning hours of
#: event time (a replay at full speed, a feed catching up) held the loop for 0.1-0.5 s, and
#: an HTTP request needs several loop turns: /healthz took 1-2 s to answer.
ENGINE_SLICE = 100
ALERTS_QUEUE = 256


class ServeError(GroundswellError):
    """The HTTP server cannot start (the address is taken or not this machine's)."""

    what = "http"


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
    skipped: Sequence[str] = ()  # playbook files left out at start for their errors
    #: Told each hot reload's playbooks after the engine took them (delivery's new routes).
    on_playbooks: Callable[[Sequence[Playbook]], None] | None = None


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
        self.engine.expect_feeds(f"{s.name}:*" if s.relays else s.name for s in sources)
        self.state, self.checkpoint_seconds = settings.state, settings.checkpoint_seconds
        self.sources = list(sources)
        self.responders = list(responders)
        self.plain = [r for r in self.responders if not isinstance(r, DurableQueue)]
        self.host, self.port = settings.http.host, settings.http.port
        self.drain_seconds = settings.drain_seconds
        self._posts: asyncio.Queue[Admitted] = asyncio.Queue(POSTS_QUEUE)
        # held by `detect` for a whole batch, so a checkpoint never sees half of one
        self._whole_batches = asyncio.Lock()
        self._alerts: asyncio.Queue[Alert] = asyncio.Queue(ALERTS_QUEUE)
        self.metrics = Metrics(
            wiring.registry or CollectorRegistry(),
            engine=self.engine,
            sources=self.sources,
            responders=[r.name for r in self.responders],
            queues={"posts": self._posts, "alerts": self._alerts},
            started=time.time(),
            skipped=len(wiring.skipped),
        )
        #: Playbook files with errors and no last good version, not watched (on /readyz).
        self.skipped = tuple(wiring.skipped)
        durable = [r for r in self.responders if isinstance(r, DurableQueue)]
        self.alerts = AlertStore(durable, self.metrics, wiring.outbox)
        self.reloader = (
            PlaybookReloader(
                wiring.watch,
                self._apply_playbooks,
                self._reloaded,
                debounce_ms=settings.reload_debounce_ms,
            )
            if wiring.watch
            else None
        )
        self._runner: web.AppRunner | None = None
        self.guard = ConnectionGuard(
            self.metrics.count_client_dropped,
            read_timeout=settings.http.read_timeout,
            max_connections=settings.http.max_connections,
        )
        self.dedup = wiring.dedup
        self.recorder = wiring.recorder
        self.source_buffer = settings.source_buffer
        self.routes = list(wiring.routes)
        self.on_refresh = wiring.on_refresh
        self.outbox = wiring.outbox
        self.on_playbooks = wiring.on_playbooks
        self._stages: list[asyncio.Task[None]] = []  # while running: cancelled at the end

    def _apply_playbooks(self, playbooks: Sequence[Playbook]) -> dict[str, str]:
        """A hot reload: the engine first, then delivery, whose new lanes start draining."""
        outcome = self.engine.replace_playbooks(playbooks)
        if self.on_playbooks is not None:
            self.on_playbooks(playbooks)
            for queue, lane in self.alerts.new_lanes():
                self._stages.append(
                    asyncio.create_task(self.alerts.deliver(queue, lane), name=f"deliver:{lane}")
                )
        return outcome

    def _reloaded(self, ok: bool) -> None:
        if self.reloader is not None:  # files with errors and no last good version to run
            self.skipped = self.reloader.skipped
        self.metrics.observe_reload(ok=ok, skipped=len(self.skipped))

    def _before_scrape(self) -> None:
        """Refresh what the metrics cannot read live (the outbox's figures in SQLite)."""
        if self.on_refresh is not None:
            self.on_refresh(self.metrics)

    # -- checkpoints and feedback, also run at start and at shutdown ------------------------
    def _restore(self) -> None:
        if self.state is None:
            return
        restored = checkpoint.load(self.engine, self.state)
        log.info("restored detector state for %d playbooks from %s", len(restored), self.state)

    async def _checkpoint(self) -> None:
        """Pickle between batches (on the loop, so the copy is consistent); write off it.

        Held back while detected alerts are not in the outbox: the checkpoint would move the
        engine past them, and a restart would not detect them again."""
        if self.state is None:
            return
        async with self._whole_batches:  # never half a batch: `detect` yields inside one
            if not self.alerts.store():
                log.warning(
                    "checkpoint held back: %d alerts are not in the outbox yet",
                    len(self.alerts.unstored),
                )
                return
            snap = checkpoint.snapshot(self.engine)
        await asyncio.to_thread(checkpoint.write, self.state, snap)
        self.metrics.observe_checkpoint(time.time())

    def apply_feedback(self) -> int:
        """Make detectors stricter for "Not a campaign" clicks not applied yet; how many."""
        return 0 if self.outbox is None else apply_false_alarms(self.engine, self.outbox)

    def _poll_feedback(self) -> None:
        try:
            self.apply_feedback()
        except Exception:  # a locked or broken outbox must not stop detection; say so
            log.exception("reading button feedback from the outbox failed")

    async def __aenter__(self) -> Service:
        self._restore()
        self._poll_feedback()  # clicks made while the service was down
        app = create_app(
            self.metrics.registry,
            self.sources,
            lambda: len(self.engine.playbooks),
            before_scrape=self._before_scrape,
            routes=self.routes,
            skipped=lambda: self.skipped,
            faults=self.alerts.faults,
        )
        try:
            self._runner = await serve(app, self.host, self.port, self.guard)
        except OSError as exc:  # e.g. the port is taken: say which, no traceback
            why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise ServeError(
                f"cannot listen on {self.host}:{self.port}: {why}; stop what uses it or "
                "choose another --http-port"
            ) from None
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

    # -- stages: each runs as its own task until cancelled ----------------------------------
    async def admit(self, source: Source) -> None:
        """Read one source under supervision, queueing its fresh posts for the engine."""
        await supervise(source, self._admit_batch, buffer=self.source_buffer)

    async def _admit_batch(self, source: Source, batch: Batch) -> None:
        """Deduplicate across sources, record, then queue for the engine (waiting if full)."""
        posts: Sequence[Post] = batch
        if self.dedup is not None:
            posts = self.dedup.fresh(batch)
            source.health.duplicates += len(batch) - len(posts)
        if not posts:
            batch.settle(Settled())
            return
        if self.recorder is not None:
            self.recorder.write(posts)
        await self._posts.put((source, posts, batch))

    async def detect(self) -> None:
        """Feed each queued batch to the engine, then queue the alerts it decided on."""
        while True:
            source, posts, batch = await self._posts.get()
            late, refused = self.engine.stats.late, self.engine.stats.refused_total
            try:
                async with self._whole_batches:
                    plain = await self._feed(source, posts)
                decided = asyncio.get_running_loop().time()
                self.metrics.decision_latency.observe(max(decided - batch.received_at, 0.0))
                for alert in plain:
                    await self._alerts.put(alert)
            finally:
                stats = self.engine.stats
                outcome = Settled(stats.late - late, stats.refused_total - refused)
                source.health.refused += outcome.refused
                batch.settle(outcome)
                self._posts.task_done()
            # `get` on a non-empty queue does not yield: without this, a backlog of batches
            # held the loop for all of them
            await asyncio.sleep(0)

    async def _feed(self, source: Source, posts: Sequence[Post]) -> list[Alert]:
        """Feed `posts` to the engine `ENGINE_SLICE` at a time, yielding between slices; the
        alerts for the plain responders. Cancelled mid-batch, it feeds the rest at once
        before it stops: the batch settles whole (its source's cursor moves past it all)."""
        plain: list[Alert] = []
        engine_seconds = 0.0
        try:
            for first in range(0, len(posts), ENGINE_SLICE):
                if first:
                    try:
                        await asyncio.sleep(0)
                    except asyncio.CancelledError:  # the outbox still gets their alerts
                        self._feed_slice(source, posts[first:])
                        raise
                began = time.perf_counter()
                plain += self._feed_slice(source, posts[first : first + ENGINE_SLICE])
                engine_seconds += time.perf_counter() - began
        finally:
            self.metrics.batch_seconds.observe(engine_seconds)
        return plain

    def _feed_slice(self, source: Source, posts: Sequence[Post]) -> list[Alert]:
        """One slice through the engine; its alerts go into the outbox before anything
        awaits (a checkpoint must not move the engine past alerts it has not stored)."""
        self.engine.feed_posts(posts, feed=source.name, relays=source.relays)
        alerts = self.engine.drain_alerts()
        for alert in alerts:
            self.metrics.observe_alert(alert.surge.playbook, alert.surge.kind)
        self.alerts.add(alerts)
        return alerts if self.plain else []

    async def respond(self) -> None:
        """Hand each queued alert to every responder without an outbox, timing and counting
        each delivery."""
        while True:
            alert = await self._alerts.get()
            try:
                for responder in self.plain:
                    with self.metrics.delivery_seconds.labels(responder.name).time():
                        delivery = await responder.send(alert)
                    self.metrics.observe_delivery(responder.name, delivery.outcome)
                    if delivery.outcome == "failed":
                        log.warning("delivery via %s failed: %s", responder.name, delivery.reason)
            finally:
                self._alerts.task_done()

    async def checkpoints(self) -> None:
        """Every `checkpoint_seconds`, write the detectors' state (a failure is logged)."""
        while True:
            await asyncio.sleep(self.checkpoint_seconds)
            try:
                await self._checkpoint()
            except Exception:  # a full disk must not stop detection; say so and go on
                log.exception("checkpoint to %s failed", self.state)

    async def feedback(self) -> None:
        """Every few seconds, apply new "Not a campaign" clicks to the detectors."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            self._poll_feedback()

    async def reload(self) -> None:
        """Swap in each valid edit of the watched playbook files (only with `watch`)."""
        if self.reloader is not None:
            await self.reloader.run()

    async def run(self, stop: asyncio.Event) -> None:
        """Run every stage until `stop` is set, then shut down in order."""
        sources = [
            asyncio.create_task(self.admit(s), name=f"source:{s.name}") for s in self.sources
        ]
        workers = self._stages = [
            asyncio.create_task(self.detect(), name="engine"),
            asyncio.create_task(self.respond(), name="responders"),
            asyncio.create_task(self.alerts.retry(), name="store"),
            asyncio.create_task(self.checkpoints(), name="checkpoints"),
            asyncio.create_task(self.feedback(), name="feedback"),
        ]
        workers += [
            asyncio.create_task(self.alerts.deliver(q, lane), name=f"deliver:{lane}")
            for q, lane in self.alerts.lanes
        ]
        if self.reloader is not None:
            workers.append(asyncio.create_task(self.reload(), name="reload"))
        # scikit-learn's 1.5 s import, off the loop now, rather than on it at the first
        # surge, where it stalled /healthz and every source (issue 14's fault bench)
        workers.append(asyncio.create_task(asyncio.to_thread(load_ranker), name="ranker"))
        try:
            await stop.wait()
        finally:
            for task in sources:
                task.cancel()
            await asyncio.gather(*sources, return_exceptions=True)
            with contextlib.suppress(TimeoutError, sqlite3.Error):  # what is left, stays stored
                async with asyncio.timeout(self.drain_seconds):
                    await self._posts.join()
                    await self._alerts.join()
                    await self.alerts.drain()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._poll_feedback()  # so the last checkpoint holds every click made until now
            await self._checkpoint()
            self._before_scrape()  # the outbox's last figures, for a read after the run
            self.alerts.say_what_waits()


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stop`, so shutdown runs its ordered drain."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
