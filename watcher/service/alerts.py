"""The alerts between detection and delivery: the outbox is their queue, not memory.

`AlertStore` stores each batch's alerts in every durable queue (the outbox's `Dispatcher`:
one fsynced SQLite transaction) as soon as the engine decides on them, and says whether
everything detected so far is stored, which is what a checkpoint waits for: a checkpoint
moves the engine past the posts, so an alert it passes must already be on disk.

When the outbox cannot be written (a full disk: SQLITE_FULL), the alerts wait here in
memory, the failure is logged once per outage and counted each time
(`groundswell_outbox_write_failures_total`), `faults()` makes `/readyz` fail, and storing is
retried every second; detection goes on. Each responder behind the outbox drains its own
lane (`deliver`), so the console never waits for a slow Slack, and a failed outbox write
while delivering is retried the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from responders.alert import Alert
from responders.delivery.outbox import Outbox
from watcher.service.metrics import Metrics

log = logging.getLogger("groundswell")

RETRY_SECONDS = 1.0  # how often a refused write is offered to the outbox again


@runtime_checkable
class DurableQueue(Protocol):
    """A responder with a durable queue in front (the outbox's `Dispatcher`): alerts are
    stored synchronously, then each lane (one responder behind it) is drained on its own."""

    name: str

    @property
    def lanes(self) -> tuple[str, ...]: ...

    def enqueue_all(self, alerts: Sequence[Alert]) -> int: ...

    async def drain(self, lane: str | None = None) -> int: ...

    async def aclose(self) -> None: ...


class AlertStore:
    """Alerts on their way into `queues`; `outbox` (when given) is read for what waits."""

    def __init__(
        self, queues: Sequence[DurableQueue], metrics: Metrics, outbox: Outbox | None = None
    ) -> None:
        self.queues = list(queues)
        self.metrics = metrics
        self.outbox = outbox
        self.unstored: list[Alert] = []  # detected, but the outbox refused them (so far)
        self._error = ""  # the last outbox failure, while it lasts (for /readyz)
        self._wake = {(q.name, lane): asyncio.Event() for q in self.queues for lane in q.lanes}

    @property
    def lanes(self) -> list[tuple[DurableQueue, str]]:
        return [(q, lane) for q in self.queues for lane in q.lanes]

    def new_lanes(self) -> list[tuple[DurableQueue, str]]:
        """The lanes the queues gained since the last look (a reload's new channels): each
        needs a `deliver` stage of its own."""
        added = [(q, lane) for q, lane in self.lanes if (q.name, lane) not in self._wake]
        for queue, lane in added:
            self._wake[queue.name, lane] = asyncio.Event()
        return added

    def add(self, alerts: Sequence[Alert]) -> None:
        """Store a batch's alerts now (synchronously: no checkpoint can come between)."""
        if self.queues and alerts:
            self.unstored.extend(alerts)
            self.store()

    def store(self) -> bool:
        """Put the alerts not stored yet into every queue, then wake the lanes; False when
        the outbox refused them (they are kept for the next try)."""
        if not self.unstored:
            return True
        try:
            for queue in self.queues:  # keyed rows: storing one twice adds nothing
                queue.enqueue_all(self.unstored)
        except sqlite3.Error as exc:
            self._failed(f"storing {len(self.unstored)} alerts", exc)
            return False
        if self._error:
            log.info("outbox writable again: %d waiting alerts stored", len(self.unstored))
            self._error = ""
        self.unstored.clear()
        for wake in self._wake.values():
            wake.set()
        return True

    def _failed(self, doing: str, exc: sqlite3.Error) -> None:
        self.metrics.count_outbox_failure()
        if not self._error:  # one line per outage, not one per batch
            log.error("outbox write failed (%s): %s; retrying every %gs", doing, exc, RETRY_SECONDS)
        self._error = f"{doing}: {exc}"

    def faults(self) -> list[str]:
        """What makes the service unready: a failing outbox."""
        return [f"outbox: {self._error}"] if self._error else []

    async def retry(self) -> None:
        """The `store` stage: every second, offer the alerts the outbox refused again."""
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            if self.unstored:
                self.store()

    async def deliver(self, queue: DurableQueue, lane: str) -> None:
        """The `deliver` stage of one lane: drain it whenever alerts are stored (and once
        at start, for what a previous run left); a failing outbox is retried, not fatal."""
        wake = self._wake[queue.name, lane]
        wake.set()
        loop = asyncio.get_running_loop()
        while True:
            await wake.wait()
            wake.clear()
            started = loop.time()
            try:
                finished = await queue.drain(lane)
            except sqlite3.Error as exc:
                self._failed(f"delivering via {lane}", exc)
                await asyncio.sleep(RETRY_SECONDS)
                wake.set()
                continue
            if finished:  # the time to deliver what was stored, retries included
                self.metrics.delivery_seconds.labels(lane).observe(loop.time() - started)
            if self._error and not self.unstored:
                log.info("outbox writable again")
                self._error = ""

    async def drain(self) -> None:
        """At shutdown: store what waits, and deliver what can go out (bounded by the
        caller's deadline; what does not stays in the outbox)."""
        self.store()
        await asyncio.gather(*(q.drain() for q in self.queues))

    def say_what_waits(self) -> None:
        """At shutdown, say what is left for the next start (it is not lost)."""
        if self.unstored:
            log.warning(
                "%d alerts could not be stored; the next start detects them again",
                len(self.unstored),
            )
        if self.outbox is not None:
            with contextlib.suppress(sqlite3.Error):
                waiting = self.outbox.counts().get("pending", 0)
                if waiting:
                    log.warning("%d deliveries wait in the outbox for the next start", waiting)
