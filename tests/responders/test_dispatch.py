"""The dispatcher's stages one at a time, over a real SQLite outbox and a scripted responder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from responders.alert import Alert
from responders.base import Delivery, Job
from responders.delivery.dispatch import (
    Dispatcher,
    RetrySchedule,
    alert_key,
    muted,
    silenced,
    start_job,
)
from responders.delivery.feedback import Feedback
from responders.delivery.outbox import Outbox
from tests.responders.conftest import RESPOND, Clock, alert


class Scripted:
    """Answers each delivery from a script of outcomes (then 'sent') and keeps the jobs."""

    name = "scripted"

    def __init__(self, *script: Delivery) -> None:
        self.script = list(script)
        self.jobs: list[Job] = []

    async def deliver(self, job: Job) -> Delivery:
        self.jobs.append(job)
        return self.script.pop(0) if self.script else Delivery(self.name, "sent")

    async def aclose(self) -> None:
        """Nothing to close."""


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


def dispatcher(outbox: Outbox, clock: Clock, responder: Scripted, **kw: object) -> Dispatcher:
    params = {"waste": RESPOND.model_copy(update=kw)}
    return Dispatcher(
        outbox,
        {"waste": [responder]},
        params,
        now=clock.now,
        sleep=clock.sleep,
        retry=RetrySchedule(first=1.0, cap=8.0, max_attempts=3),
    )


def test_retry_schedule_doubles_to_its_cap_and_honours_retry_after() -> None:
    schedule = RetrySchedule(first=1.0, cap=8.0, max_attempts=5)
    failed = Delivery("x", "failed", "HTTP 503")
    assert [schedule.wait(n, failed) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, None]
    assert schedule.wait(1, Delivery("x", "failed", "429", retry_after=30.0)) == 30.0
    assert schedule.wait(1, Delivery("x", "failed", "bad token", permanent=True)) is None


def test_silence_lasts_until_the_snooze_ends(outbox: Outbox) -> None:
    outbox.snooze("waste", 100.0, "rosa", now=10.0)
    assert silenced(outbox, alert(), 99.0) is not None
    assert silenced(outbox, alert(), 100.0) is None
    assert silenced(outbox, alert(), 9.0) is None  # not yet begun
    other = Alert(replace(alert().surge, playbook="sewage"))
    assert silenced(outbox, other, 50.0) is None


def test_mute_keeps_updates_in_the_cooldown_quiet_but_never_the_first_or_the_end(
    outbox: Outbox,
) -> None:
    params = RESPOND.model_copy(update={"cooldown_minutes": 30})
    first, update, over = alert(), alert("update", "growing", 10), alert("update", "over", 20)
    for a in (first, update, over):
        outbox.add(alert_key("r", a), "r", a, now=0.0)
    rows = outbox.pending()
    assert [muted(outbox, row, params) for row in rows] == [False, False, False]
    outbox.finish(rows[0].id, "sent", noisy=True)
    assert [muted(outbox, row, params) for row in rows[1:]] == [True, False]
    outbox.add_feedback("waste", "waste-1", Feedback("not_campaign", "U1", "rosa"), now=0.0)
    assert [muted(outbox, row, params) for row in rows[1:]] == [True, True]


def test_dedup_stores_an_alert_once_and_counts_the_attempt_before_it(
    outbox: Outbox, clock: Clock
) -> None:
    d = dispatcher(outbox, clock, Scripted())
    assert d.enqueue(alert()) == 1
    assert d.enqueue(alert()) == 0  # re-detected after a restart: the same key
    [row] = outbox.pending()
    job = start_job(outbox, row, quiet=False)
    assert (job.key, job.attempt) == (alert_key("scripted", alert()), 1)
    [again] = outbox.pending()
    assert start_job(outbox, again, quiet=True).attempt == 2  # in doubt: check first


async def test_a_failure_is_retried_on_schedule_then_given_up(outbox: Outbox, clock: Clock) -> None:
    failed = Delivery("scripted", "failed", "HTTP 503")
    responder = Scripted(failed, failed, failed)
    d = dispatcher(outbox, clock, responder)
    await d.send(alert())
    assert clock.sleeps == [1.0, 2.0]
    assert [j.attempt for j in responder.jobs] == [1, 2, 3]
    assert (d.tally.retried, d.tally.failed, d.tally.sent) == (2, 1, 0)
    assert outbox.counts() == {"gave_up": 1}


async def test_a_snoozed_playbook_is_suppressed_and_nothing_is_sent(
    outbox: Outbox, clock: Clock
) -> None:
    responder = Scripted()
    d = dispatcher(outbox, clock, responder)
    outbox.snooze("waste", clock.t + 3600, "rosa", now=clock.t)
    await d.send(alert())
    assert responder.jobs == []
    assert d.tally.suppressed == 1
    assert outbox.counts() == {"suppressed": 1}
