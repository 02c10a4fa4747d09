"""`groundswell deliver`: the alerts stream into the outbox, the responders and a file.

One leased delivery process follows the alerts stream with a durable consumer. For each
fetched batch it appends the alerts not yet in `--alerts-out` (in the NDJSON of `replay
--alerts-out`), stores them in the outbox (insert-or-ignore on the alert key, one fsynced
transaction), and only then acks them; the outbox's dispatcher then sends them. A crash
before the ack redelivers the batch, which adds nothing: the file's alert ids are read back
at start, and the outbox ignores keys it holds. The alerts stream itself drops re-emissions
by `Nats-Msg-Id` within its (day-long) dedup window.

The same process, while it holds the lease, polls its outbox for "Not a campaign" clicks
and publishes them into the posts stream (`feedback.ClickPublisher`), where every worker
applies them in stream order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import BinaryIO

import orjson
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from responders.alert import Alert
from responders.channels.ndjson import dump_alert
from responders.codec import decode
from responders.delivery.dispatch import Dispatcher
from responders.delivery.outbox import Outbox
from watcher.cluster.feedback import ClickPublisher
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.leases import Lease, LeaseLost
from watcher.cluster.worker import alert_id

__all__ = ["AlertsFile", "Deliverer"]

log = logging.getLogger("groundswell.cluster")

FETCH = 256
#: An alert fetched but not acked (the broker restarted, or this process died) comes again
#: after this long; between fetch and ack there is only a file append and one SQLite commit.
ACK_WAIT = 5.0
#: How often the outbox is read for new clicks. A click only changes which later surges
#: page, so a second late is as good as at once.
CLICK_POLL_SECONDS = 1.0


class AlertsFile:
    """An append-only alerts NDJSON file that holds each alert once, across restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: set[str] = set()
        if path.exists():
            data = path.read_bytes()
            whole = data[: data.rfind(b"\n") + 1]  # a line a crash cut short is dropped
            if len(whole) != len(data):
                path.write_bytes(whole)
            for line in whole.splitlines():
                raw = orjson.loads(line)
                self.ids.add(f"{raw['campaign_id']}|{raw['kind']}|{raw['state']}|{raw['fired_at']}")
        self._handle: BinaryIO = path.open("ab")

    def write(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            key = alert_id(alert)
            if key not in self.ids:
                self.ids.add(key)
                self._handle.write(dump_alert(alert))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class Deliverer:
    """Moves alerts from the stream into the outbox (and `alerts_out`), then acks them."""

    def __init__(
        self,
        js: JetStreamContext,
        layout: Layout,
        stores: Stores,
        dispatcher: Dispatcher | None,
        alerts_out: AlertsFile | None,
        owner: str,
        *,
        outbox: Outbox | None = None,
    ) -> None:
        self.js = js
        self.layout = layout
        self.dispatcher = dispatcher
        self.alerts_out = alerts_out
        self.lease = Lease(stores.leases, "deliver", owner, layout.lease_ttl)
        #: The clicks of the outbox (None: no outbox, no clicks to publish).
        self.clicks = ClickPublisher(js, layout, stores, outbox) if outbox is not None else None
        self._clicks_at = -float("inf")  # when the outbox was last read for clicks
        self.delivered = 0
        self.lag = 0  # alerts in the stream after the last fetched

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver while holding the lease, stand by while another process does, until
        `stop`. A lost lease (another process took over after we could not renew in time)
        sends this one back to standby rather than stopping it."""
        while not stop.is_set():
            if not await self.lease.acquire():  # a standby: take over when the owner stops
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.layout.lease_ttl / 4)
                continue
            log.info("deliver: delivering (lease epoch %s)", self.lease.epoch)
            try:
                await self._deliver(stop)
            except LeaseLost as exc:
                log.warning("deliver: %s; standing by", exc)
            finally:
                await self.lease.release()

    async def _deliver(self, stop: asyncio.Event) -> None:
        name = f"{self.layout.name}-deliver"
        sub = await self.js.pull_subscribe(
            self.layout.alerts_subject,
            durable=name,
            stream=self.layout.alerts_stream,
            config=ConsumerConfig(
                durable_name=name,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ACK_WAIT,
            ),
        )
        lost = asyncio.Event()  # the renewals gave up: stop delivering at the next step
        renewals = asyncio.create_task(self._keep_lease(stop, lost))
        try:
            while not (stop.is_set() or lost.is_set()):
                try:
                    await self._publish_clicks()
                    await self._step(sub)
                except (TimeoutError, NatsError):  # none yet, or the broker is away: unacked
                    continue  # alerts come again, and adding them again adds nothing
                if self.dispatcher is not None:
                    await self.dispatcher.drain()
        finally:
            renewals.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewals
        if lost.is_set() and not stop.is_set():
            raise LeaseLost("deliver: lease not renewed in time; another process delivers")

    async def _keep_lease(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        """Renew every quarter TTL in a task of its own, so a slow responder cannot make
        the lease lapse; set `lost` when it is lost or cannot be renewed in time."""
        beat = self.layout.lease_ttl / 4
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(self.lease.renew(), beat)
                except (NatsError, TimeoutError):
                    if not self.lease.fresh():
                        return
                await asyncio.sleep(beat)
        except LeaseLost:
            return
        finally:
            lost.set()

    async def _publish_clicks(self) -> None:
        """Every `CLICK_POLL_SECONDS`, publish the outbox's new clicks (on a held lease)."""
        loop = asyncio.get_running_loop()
        if self.clicks is None or loop.time() - self._clicks_at < CLICK_POLL_SECONDS:
            return
        if not self.lease.fresh():
            raise LeaseLost("deliver: lease not fresh; another process may deliver")
        self._clicks_at = loop.time()
        await self.clicks.publish()

    async def _step(self, sub: JetStreamContext.PullSubscription) -> None:
        try:
            msgs = await sub.fetch(FETCH, timeout=0.5)
        except TimeoutError:
            self.lag = 0
            raise
        alerts = [decode(m.data) for m in msgs]
        self.lag = (msgs[-1].metadata.num_pending or 0) if msgs else 0
        if not self.lease.fresh():  # it may have lapsed: write nothing, ack nothing
            raise LeaseLost("deliver: lease not fresh; another process may deliver")
        if self.alerts_out is not None:
            self.alerts_out.write(alerts)
        if self.dispatcher is not None:
            self.dispatcher.enqueue_all(alerts)
        for msg in msgs:
            await msg.ack_sync()
        self.delivered += len(alerts)

    def faults(self) -> list[str]:
        """What keeps it from delivering now: a held lease it cannot renew in time (a
        standby without the lease is ready: it takes over when the owner stops)."""
        if self.lease.held and not self.lease.fresh():
            return ["lease: the delivery lease is not renewed in time"]
        return []
