"""`groundswell deliver`: the alerts stream into the outbox, the responders and a file.

One leased delivery process follows the alerts stream with a durable consumer. For each
fetched batch it appends the alerts not yet in `--alerts-out` (in the NDJSON of `replay
--alerts-out`), stores them in the outbox (insert-or-ignore on the alert key, one fsynced
transaction), and only then acks them; the outbox's dispatcher then sends them. A crash
before the ack redelivers the batch, which adds nothing: the file's alert ids are read back
at start, and the outbox ignores keys it holds. The alerts stream itself drops re-emissions
by `Nats-Msg-Id` within its (day-long) dedup window.
"""

from __future__ import annotations

import asyncio
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
from watcher.cluster.layout import Layout, Stores
from watcher.cluster.leases import Lease, LeaseLost
from watcher.cluster.worker import alert_id

__all__ = ["AlertsFile", "Deliverer"]

log = logging.getLogger("groundswell.cluster")

FETCH = 256
#: An alert fetched but not acked (the broker restarted, or this process died) comes again
#: after this long; between fetch and ack there is only a file append and one SQLite commit.
ACK_WAIT = 5.0


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
    ) -> None:
        self.js = js
        self.layout = layout
        self.dispatcher = dispatcher
        self.alerts_out = alerts_out
        self.lease = Lease(stores.leases, "deliver", owner, layout.lease_ttl)
        self.delivered = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not await self.lease.acquire():  # a standby: take over when the owner stops
            if stop.is_set():
                return
            await asyncio.sleep(self.layout.lease_ttl / 4)
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
        try:
            while not stop.is_set():
                try:
                    await self._step(sub)
                except (TimeoutError, NatsError) as exc:  # the broker is away; unacked
                    # alerts come again, and adding them again adds nothing
                    if not self.lease.fresh():
                        raise LeaseLost(f"deliver: cannot renew in time ({exc!r})") from None
                    continue
                if self.dispatcher is not None:
                    await self.dispatcher.drain()
        finally:
            await self.lease.release()

    async def _step(self, sub: JetStreamContext.PullSubscription) -> None:
        if self.lease.due():
            await self.lease.renew()
        msgs = await sub.fetch(FETCH, timeout=0.5)
        alerts = [decode(m.data) for m in msgs]
        if not self.lease.fresh():
            raise LeaseLost("deliver: lease not fresh; another process delivers")
        if self.alerts_out is not None:
            self.alerts_out.write(alerts)
        if self.dispatcher is not None:
            self.dispatcher.enqueue_all(alerts)
        for msg in msgs:
            await msg.ack_sync()
        self.delivered += len(alerts)
