"""Route alerts to each playbook's responders through the outbox, with retries and noise control.

In Alertmanager's words: a campaign is a group (one conversation per channel), updates inside
the campaign's cooldown only edit the top message, and a playbook snooze is a silence that
expires. Delivery is at-least-once and, with the outbox keys and the Slack responder's in-doubt
check, without duplicates. Clock and sleep are injected so tests run at full speed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from responders.alert import Alert, rfc3339
from responders.base import Delivery, Job, OutboxResponder
from responders.delivery.outbox import Outbox, Row
from responders.params import RespondParams

log = logging.getLogger("groundswell.responders")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff between attempts: first, doubling, capped; `max_attempts` in all."""

    first: float = 1.0
    cap: float = 300.0
    max_attempts: int = 12

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.first * 2 ** max(attempt - 1, 0)))


@dataclass(slots=True)
class Tally:
    """What delivery did, by outcome, since the dispatcher started."""

    sent: int = 0
    suppressed: int = 0
    retried: int = 0
    failed: int = 0
    by_responder: dict[tuple[str, str], int] = field(default_factory=dict)

    def note(self, responder: str, outcome: str) -> None:
        key = (responder, outcome)
        self.by_responder[key] = self.by_responder.get(key, 0) + 1


def alert_key(responder: str, alert: Alert) -> str:
    """The outbox key: the same alert re-detected after a restart gets the same key."""
    s = alert.surge
    return f"{responder}|{s.campaign_id}|{s.kind}|{s.state}|{rfc3339(s.fired_at)}"


class Dispatcher:
    """A `Responder` for the service: `send` stores the alert, then delivers what is due."""

    name = "outbox"

    def __init__(
        self,
        outbox: Outbox,
        routes: Mapping[str, Sequence[OutboxResponder]],
        params: Mapping[str, RespondParams],
        *,
        now: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        backoff: Backoff | None = None,
    ) -> None:
        self.outbox = outbox
        self.routes = {name: tuple(rs) for name, rs in routes.items()}
        self.params = dict(params)
        self.now = now
        self.sleep = sleep
        self.backoff = backoff or Backoff()
        self.tally = Tally()
        self._responders = {r.name: r for rs in self.routes.values() for r in rs}
        self._lock = asyncio.Lock()  # one drain at a time, or a row could go out twice

    def enqueue(self, alert: Alert) -> int:
        """Store the alert once per responder of its playbook; returns how many were new."""
        added = 0
        for responder in self.routes.get(alert.surge.playbook, ()):
            key = alert_key(responder.name, alert)
            added += self.outbox.add(key, responder.name, alert, now=self.now())
        return added

    async def send(self, alert: Alert) -> Delivery:
        self.enqueue(alert)
        await self.drain()
        return Delivery(self.name, "sent" if not self.outbox.pending() else "failed")

    async def drain(self) -> None:
        """Deliver everything pending, waiting out retry delays, until sent or given up."""
        async with self._lock:
            await self._drain()

    async def _drain(self) -> None:
        while True:
            rows = self.outbox.pending()
            if not rows:
                return
            await self.deliver_due(rows)
            waiting = [r.next_at for r in self.outbox.pending()]
            if not waiting:
                return
            pause = min(waiting) - self.now()
            if pause > 0:
                await self.sleep(pause)

    async def deliver_due(self, rows: Sequence[Row] | None = None) -> None:
        """One pass over pending rows: each is sent if due and nothing older for the same
        campaign and responder is still waiting (so updates never overtake the first post)."""
        blocked: set[tuple[str, str]] = set()
        for row in self.outbox.pending() if rows is None else rows:
            lane = (row.responder, row.campaign_id)
            if lane in blocked:
                continue
            if row.next_at > self.now():
                blocked.add(lane)
                continue
            if not await self._deliver(row):
                blocked.add(lane)

    async def _deliver(self, row: Row) -> bool:
        """Try one row; True when it is finished (sent, suppressed or given up)."""
        responder = self._responders.get(row.responder)
        surge = row.alert.surge
        if responder is None:
            self.outbox.finish(row.id, "failed", error=f"no responder {row.responder!r} now")
            self.tally.failed += 1
            return True
        if self.outbox.snoozed_until(surge.playbook, self.now()) is not None:
            self.outbox.finish(row.id, "suppressed", error="playbook snoozed")
            self._count(responder.name, "suppressed")
            return True
        quiet = self._quiet(row)
        self.outbox.begin_attempt(row.id)
        job = Job(row.key, row.alert, attempt=row.attempts + 1, quiet=quiet)
        try:
            delivery = await responder.deliver(job)
        except Exception as exc:  # a responder bug must not stop the others
            log.exception("responder %s raised on %s", responder.name, row.key)
            delivery = Delivery(responder.name, "failed", repr(exc))
        if delivery.outcome != "failed":
            self.outbox.finish(row.id, delivery.outcome, noisy=not quiet)
            self._count(responder.name, delivery.outcome)
            return True
        attempts = row.attempts + 1
        if delivery.permanent or attempts >= self.backoff.max_attempts:
            log.error("giving up on %s after %d attempts: %s", row.key, attempts, delivery.reason)
            # 'gave_up' rows are tried again on the next start; 'failed' ones cannot succeed
            status = "failed" if delivery.permanent else "gave_up"
            self.outbox.finish(row.id, status, error=delivery.reason)
            self._count(responder.name, "failed")
            return True
        wait = max(self.backoff.delay(attempts), delivery.retry_after)
        log.warning("%s failed (%s); retrying in %.1fs", responder.name, delivery.reason, wait)
        self.outbox.retry_at(row.id, self.now() + wait, delivery.reason)
        self.tally.retried += 1
        self.tally.note(responder.name, "retried")
        return False

    def _quiet(self, row: Row) -> bool:
        s = row.alert.surge
        if s.kind == "new":
            return False
        if any(f.action == "not_campaign" for f in self.outbox.feedback(s.campaign_id)):
            return True  # someone said it is noise: keep the record current, ping nobody
        if s.state == "over":
            return False
        last = self.outbox.last_noise(row.responder, s.campaign_id)
        params = self.params.get(s.playbook)
        cooldown = (params.cooldown_minutes if params else 0.0) * 60.0
        return last is not None and s.fired_at.timestamp() - last < cooldown

    def _count(self, responder: str, outcome: str) -> None:
        if outcome == "sent":
            self.tally.sent += 1
        elif outcome == "suppressed":
            self.tally.suppressed += 1
        else:
            self.tally.failed += 1
        self.tally.note(responder, outcome)

    async def aclose(self) -> None:
        for responder in self._responders.values():
            await responder.aclose()
