"""Silences over a real SQLite outbox: what they cover, when, and what delivery does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from responders.delivery.outbox import Outbox
from responders.delivery.silences import (
    add_silence,
    expire_silence,
    get_silence,
    list_silences,
    silence_for,
)
from tests.responders.conftest import Clock, alert
from tests.responders.test_dispatch import Scripted, dispatcher


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


def test_a_term_silence_covers_only_alerts_with_that_term(outbox: Outbox) -> None:
    toxic = add_silence(
        outbox.db, "waste", term="Toxic Waste", starts_at=0, ends_at=100, reason="r", created_by="a"
    )
    other = add_silence(
        outbox.db, "waste", term="landfill", starts_at=0, ends_at=100, reason="r", created_by="a"
    )
    assert silence_for(outbox.db, alert(), 50) == toxic  # terms compare without case
    assert other.matches(alert()) is False


def test_list_shows_pending_and_active_until_they_end_then_only_with_expired(
    outbox: Outbox,
) -> None:
    now = 1000.0
    active = add_silence(
        outbox.db, "waste", starts_at=900, ends_at=2000, reason="r", created_by="a"
    )
    later = add_silence(
        outbox.db, "waste", starts_at=1500, ends_at=3000, reason="r", created_by="b"
    )
    ended = add_silence(outbox.db, "waste", starts_at=100, ends_at=200, reason="r", created_by="c")
    assert [s.id for s in list_silences(outbox.db, now)] == [later.id, active.id]
    assert [s.state(now) for s in (later, active, ended)] == ["pending", "active", "expired"]
    assert ended.id in {s.id for s in list_silences(outbox.db, now, expired=True)}
    assert silence_for(outbox.db, alert(), now) == active  # a pending one covers nothing yet


def test_expiring_ends_it_now_and_keeps_the_record(outbox: Outbox) -> None:
    made = add_silence(
        outbox.db, "waste", starts_at=0, ends_at=500, reason="launch", created_by="a"
    )
    gone = expire_silence(outbox.db, made.id, 100.0)
    assert gone is not None
    assert (gone.ends_at, gone.reason, gone.state(100.0)) == (100.0, "launch", "expired")
    assert silence_for(outbox.db, alert(), 100.0) is None
    assert expire_silence(outbox.db, made.id, 300.0) == gone  # a second expiry changes nothing
    assert expire_silence(outbox.db, "nosuchid", 300.0) is None
    assert get_silence(outbox.db, made.id) == gone


def test_a_silence_needs_a_positive_length(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="must end after it starts"):
        add_silence(outbox.db, "waste", starts_at=5, ends_at=5, reason="r", created_by="a")


async def test_a_silence_that_expires_while_a_campaign_is_open_lets_the_next_change_out(
    outbox: Outbox, clock: Clock
) -> None:
    responder = Scripted()
    d = dispatcher(outbox, clock, responder, cooldown_minutes=0)
    silence = add_silence(
        outbox.db, "waste", starts_at=clock.t, ends_at=clock.t + 600, reason="launch",
        created_by="rosa",
    )  # fmt: skip
    await d.send(alert())  # the campaign opens under the silence: recorded, not delivered
    assert responder.jobs == []
    [row] = outbox.db.execute("SELECT status, last_error FROM outbox").fetchall()
    assert row == ("suppressed", f"silenced by {silence.id} (rosa: launch)")
    clock.t += 300
    await d.send(alert("update", "escalating", 5))  # still silenced
    assert responder.jobs == []
    clock.t += 301  # the silence ended while the campaign is open
    await d.send(alert("update", "peaked", 10))
    assert [(j.alert.surge.state, j.quiet) for j in responder.jobs] == [("peaked", False)]
    recorded = outbox.db.execute("SELECT state FROM alerts ORDER BY id").fetchall()
    assert recorded == [("emerging",), ("escalating",), ("peaked",)]


async def test_the_slack_snooze_is_a_silence_and_old_snoozes_are_adopted(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(path)
    box.db.execute("INSERT INTO snoozes (playbook, until, by) VALUES ('waste', 500.0, 'old')")
    box.close()
    box = Outbox(path)  # a file from before silences: its snooze is kept as a silence
    try:
        [adopted] = list_silences(box.db, 100.0)
        assert (adopted.playbook, adopted.term, adopted.ends_at, adopted.created_by) == (
            "waste", "", 500.0, "old",
        )  # fmt: skip
        snooze = box.snooze("waste", 900.0, "rosa", now=100.0)
        assert box.snoozed_until("waste", 600.0) == 900.0
        assert (snooze.reason, snooze.starts_at) == ("Slack snooze", 100.0)
    finally:
        box.close()
