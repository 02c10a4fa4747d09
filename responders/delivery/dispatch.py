"""Route alerts to each playbook's responders through the outbox, in named stages.

In Alertmanager's words: a campaign is a group (one conversation per channel), updates inside
the campaign's cooldown only edit the top message, and a playbook snooze is a silence that
expires. Delivery is at-least-once and, with the outbox keys and the Slack responder's in-doubt
check, without duplicates. Clock and sleep are injected so tests run at full speed.

Each pending outbox row goes through these stages, which `Dispatcher` composes:

1. silence (`silenced`): alerts a silence covers (`responders.delivery.silences`: a playbook,
   or one of its terms; the Slack Snooze button makes one) are suppressed while it lasts;
2. mute (`muted`): inside the campaign's cooldown, or once staff said it is no campaign, an
   update is quiet: it edits the record in place and pings nobody;
3. dedup (`alert_key` when storing, `start_job` when sending): a re-detected alert adds no
   row, and the job tells the responder when an earlier attempt may have got through;
4. retry (`RetrySchedule.wait`): a failure is tried again later, or given up on;
5. notify log (`Ledger`): the outcome goes to the outbox, the `Tally` and the log.

Every alert is also recorded in the history (`responders.delivery.history`) when it is
stored, whether or not a stage lets it out, and campaigns quiet for longer than the
retention are pruned from it now and then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from responders.alert import Alert, rfc3339
from responders.base import Delivery, Job, OutboxResponder
from responders.delivery.history import prune
from responders.delivery.outbox import Outbox, Row
from responders.delivery.silences import Silence, silence_for
from responders.params import RespondParams

log = logging.getLogger("groundswell.responders")


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """When to try a failed delivery again: after `first` seconds, doubling, capped at `cap`;
    `max_attempts` in all. (Sources reconnect on their own jittered `watcher.sources.retry`.)

    >>> [RetrySchedule(first=1, cap=5).delay(n) for n in (1, 2, 3, 4)]
    [1.0, 2.0, 4.0, 5.0]
    """

    first: float = 1.0
    cap: float = 300.0
    max_attempts: int = 12

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        return float(min(self.cap, self.first * 2 ** max(attempt - 1, 0)))

    def wait(self, attempts: int, failure: Delivery) -> float | None:
        """The retry stage: seconds until the next attempt after `attempts` failed ones, or
        None to give up (retrying cannot help, or the attempts are used up). A far end that
        asks for a longer wait (HTTP 429 Retry-After) gets it."""
        if failure.permanent or attempts >= self.max_attempts:
            return None
        return max(self.delay(attempts), failure.retry_after)


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

    def count(self, responder: str, outcome: str) -> None:
        """One finished row: sent, suppressed, or (anything else) failed."""
        if outcome == "sent":
            self.sent += 1
        elif outcome == "suppressed":
            self.suppressed += 1
        else:
            self.failed += 1
        self.note(responder, outcome)


def alert_key(responder: str, alert: Alert) -> str:
    """The outbox key: the same alert re-detected after a restart gets the same key."""
    s = alert.surge
    return f"{responder}|{s.campaign_id}|{s.kind}|{s.state}|{rfc3339(s.fired_at)}"


#: How often the history is pruned of campaigns past the retention, at most.
PRUNE_EVERY_S = 3600.0


def silenced(outbox: Outbox, alert: Alert, now: float) -> Silence | None:
    """The silence stage: the active silence that covers the alert at `now`, if any."""
    return silence_for(outbox.db, alert, now)


def muted(outbox: Outbox, row: Row, params: RespondParams | None) -> bool:
    """The mute stage: True when the row should update the record without pinging anyone.

    A campaign's first alert always pings. After that, an update is quiet once someone
    marked the campaign "Not a campaign", or when it comes within the playbook's cooldown of
    the last message that pinged people here; the campaign's end always pings.
    """
    s = row.alert.surge
    if s.kind == "new":
        return False
    if any(f.action == "not_campaign" for f in outbox.feedback(s.campaign_id)):
        return True  # someone said it is noise: keep the record current, ping nobody
    if s.state == "over":
        return False
    last = outbox.last_noise(row.responder, s.campaign_id)
    cooldown = (params.cooldown_minutes if params else 0.0) * 60.0
    return last is not None and s.fired_at.timestamp() - last < cooldown


def start_job(outbox: Outbox, row: Row, *, quiet: bool) -> Job:
    """The dedup stage on the way out: count the attempt before making it, so that after a
    crash the row is known to be in doubt, and hand the responder the row's key and attempt
    number (above 1, it checks whether an earlier attempt reached the far end)."""
    outbox.begin_attempt(row.id)
    return Job(row.key, row.alert, attempt=row.attempts + 1, quiet=quiet)


async def attempt(responder: OutboxResponder, job: Job) -> Delivery:
    """Hand the job to its responder; a responder that raises counts as a failed attempt."""
    try:
        return await responder.deliver(job)
    except Exception as exc:  # a responder bug must not stop the others
        log.exception("responder %s raised on %s", responder.name, job.key)
        return Delivery(responder.name, "failed", repr(exc))


class Ledger:
    """The notify-log stage: each row's outcome goes to the outbox, the tally and the log."""

    def __init__(self, outbox: Outbox, tally: Tally, now: Callable[[], float]) -> None:
        self.outbox = outbox
        self.tally = tally
        self.now = now

    def finish(
        self, row: Row, responder: str, outcome: str, *, noisy: bool = False, error: str = ""
    ) -> None:
        """The row is done: sent, or suppressed by a stage."""
        self.outbox.finish(row.id, outcome, noisy=noisy, error=error, at=self.now())
        self.tally.count(responder, outcome)

    def orphan(self, row: Row) -> None:
        """The row's responder is no longer configured (the playbook changed since)."""
        error = f"no responder {row.responder!r} now"
        self.outbox.finish(row.id, "failed", error=error, at=self.now())
        self.tally.failed += 1

    def give_up(self, row: Row, responder: str, attempts: int, failure: Delivery) -> None:
        log.error("giving up on %s after %d attempts: %s", row.key, attempts, failure.reason)
        # 'gave_up' rows are tried again on the next start; 'failed' ones cannot succeed
        status = "failed" if failure.permanent else "gave_up"
        self.outbox.finish(row.id, status, error=failure.reason, at=self.now())
        self.tally.count(responder, "failed")

    def retry(self, row: Row, responder: str, wait: float, at: float, reason: str) -> None:
        log.warning("%s failed (%s); retrying in %.1fs", responder, reason, wait)
        self.outbox.retry_at(row.id, at, reason)
        self.tally.retried += 1
        self.tally.note(responder, "retried")


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
        retry: RetrySchedule | None = None,
        retention_s: float | None = None,
    ) -> None:
        self.outbox = outbox
        self.routes = {name: tuple(rs) for name, rs in routes.items()}
        self.params = dict(params)
        self.now = now
        self.sleep = sleep
        self.retry = retry or RetrySchedule()
        self.tally = Tally()
        self.ledger = Ledger(outbox, self.tally, now)
        self.retention_s = retention_s  # None: keep the history for ever
        self._pruned_at = -float("inf")
        self._responders = {r.name: r for rs in self.routes.values() for r in rs}
        # one lane per responder, each drained on its own: a slow Slack holds up only
        # Slack's rows, never the console's; one drain per lane at a time, or a row could
        # go out twice
        self._locks = {name: asyncio.Lock() for name in self._responders}

    @property
    def lanes(self) -> tuple[str, ...]:
        """The responders' names: each one's rows can be drained on their own."""
        return tuple(self._responders)

    def reroute(
        self,
        routes: Mapping[str, Sequence[OutboxResponder]],
        params: Mapping[str, RespondParams],
    ) -> None:
        """Send the alerts stored from now on by these routes (after a playbook reload).

        A responder no longer on any route keeps its lane, so the rows it already holds
        still go out: they were queued under the playbooks of their time. A new one gets
        a lane (see `lanes`).
        """
        self.routes = {name: tuple(rs) for name, rs in routes.items()}
        self.params = dict(params)
        for responder in (r for rs in self.routes.values() for r in rs):
            if responder.name not in self._responders:
                self._responders[responder.name] = responder
                self._locks[responder.name] = asyncio.Lock()

    def enqueue(self, alert: Alert) -> int:
        """Store the alert once per responder of its playbook; returns how many were new."""
        return self.enqueue_all([alert])

    def enqueue_all(self, alerts: Sequence[Alert]) -> int:
        """Store each alert once per responder of its playbook, all in one transaction (one
        fsync); returns how many rows were new. Raises what the outbox raises (a full disk)
        having stored none of them, so the caller keeps them and tries again."""
        entries = [
            (alert_key(responder.name, alert), responder.name, alert)
            for alert in alerts
            for responder in self.routes.get(alert.surge.playbook, ())
        ]
        now = self.now()
        added = self.outbox.add_all(entries, now=now, alerts=alerts) if alerts else 0
        self.prune_history(now)
        return added

    def prune_history(self, now: float) -> int:
        """Forget campaigns quiet for longer than the retention (at most once an hour);
        returns how many went."""
        if self.retention_s is None or now - self._pruned_at < PRUNE_EVERY_S:
            return 0
        self._pruned_at = now
        gone = prune(self.outbox.db, now - self.retention_s)
        if gone:
            log.info("history: forgot %d campaigns quiet for over the retention", gone)
        return gone

    async def send(self, alert: Alert) -> Delivery:
        self.enqueue(alert)
        await self.drain()
        return Delivery(self.name, "sent" if not self.outbox.pending() else "failed")

    async def drain(self, lane: str | None = None) -> int:
        """Deliver everything pending (only `lane`'s rows when given), waiting out retry
        delays, until sent or given up; returns how many rows were finished. Without a lane,
        the lanes drain side by side."""
        if lane is not None:
            async with self._locks[lane]:
                return await self._drain(lane)
        for row in self.outbox.pending():
            if row.responder not in self._responders:
                self.ledger.orphan(row)
        return sum(await asyncio.gather(*(self.drain(name) for name in self._responders)))

    async def _drain(self, lane: str) -> int:
        finished = 0
        while True:
            rows = self.outbox.pending(lane)
            if not rows:
                return finished
            finished += await self.deliver_due(rows)
            waiting = [r.next_at for r in self.outbox.pending(lane)]
            if not waiting:
                return finished
            pause = min(waiting) - self.now()
            if pause > 0:
                await self.sleep(pause)

    async def deliver_due(self, rows: Sequence[Row] | None = None) -> int:
        """One pass over pending rows: each is sent if due and nothing older for the same
        campaign and responder is still waiting (so updates never overtake the first post).
        Returns how many rows it finished."""
        blocked: set[tuple[str, str]] = set()
        finished = 0
        for row in self.outbox.pending() if rows is None else rows:
            lane = (row.responder, row.campaign_id)
            if lane in blocked:
                continue
            if row.next_at > self.now():
                blocked.add(lane)
                continue
            if await self._deliver(row):
                finished += 1
            else:
                blocked.add(lane)
        return finished

    async def _deliver(self, row: Row) -> bool:
        """Take one row through the stages; True when it is finished (sent, suppressed or
        given up), False when it waits for a retry."""
        responder = self._responders.get(row.responder)
        if responder is None:
            self.ledger.orphan(row)
            return True
        playbook = row.alert.surge.playbook
        silence = silenced(self.outbox, row.alert, self.now())
        if silence is not None:
            why = f"silenced by {silence.id} ({silence.created_by}: {silence.reason})"
            self.ledger.finish(row, responder.name, "suppressed", error=why)
            return True
        quiet = muted(self.outbox, row, self.params.get(playbook))
        job = start_job(self.outbox, row, quiet=quiet)
        delivery = await attempt(responder, job)
        if delivery.outcome != "failed":
            outcome, reason = delivery.outcome, delivery.reason
            self.ledger.finish(row, responder.name, outcome, noisy=not quiet, error=reason)
            return True
        wait = self.retry.wait(job.attempt, delivery)
        if wait is None:
            self.ledger.give_up(row, responder.name, job.attempt, delivery)
            return True
        self.ledger.retry(row, responder.name, wait, self.now() + wait, delivery.reason)
        return False

    async def aclose(self) -> None:
        for responder in self._responders.values():
            await responder.aclose()
