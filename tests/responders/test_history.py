"""The alert history over a real SQLite outbox: what is recorded, listed, told and pruned."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from responders.base import Delivery
from responders.delivery.feedback import Feedback
from responders.delivery.history import campaigns, prune, story
from responders.delivery.outbox import Outbox
from responders.delivery.silences import add_silence
from tests.responders.conftest import Clock, alert
from tests.responders.test_dispatch import Scripted, dispatcher


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


async def test_every_alert_is_recorded_once_with_its_deliveries_and_clicks(
    outbox: Outbox, clock: Clock
) -> None:
    failed = Delivery("scripted", "failed", "HTTP 503")
    d = dispatcher(outbox, clock, Scripted(failed), cooldown_minutes=0)
    await d.send(alert())
    await d.send(alert())  # re-detected after a restart: one record
    clock.t += 60
    await d.send(alert("update", "escalating", 5))
    clock.t += 60
    outbox.add_feedback("waste", "waste-1", Feedback("ack", "U1", "rosa"), now=clock.t)
    outbox.add_feedback("waste", "waste-1", Feedback("ack", "U1", "rosa"), now=clock.t)
    [summary] = campaigns(outbox.db)
    assert (summary.campaign_id, summary.state, summary.alerts, summary.posts) == (
        "waste-1", "escalating", 2, 65,
    )  # fmt: skip
    assert summary.acknowledged_by == ("rosa",)  # twice, but one person
    assert summary.deliveries == {"sent": 2}
    told = story(outbox.db, "waste-1")
    assert told is not None
    assert [a.surge.state for a in told.alerts] == ["emerging", "escalating"]
    assert [(e.what, e.detail.get("status", e.detail.get("state"))) for e in told.events] == [
        ("alert", "emerging"),
        ("delivery", "sent"),  # after one retry
        ("alert", "escalating"),
        ("delivery", "sent"),
        ("ack", None),
        ("ack", None),
    ]
    first_delivery = told.events[1].to_json()
    assert first_delivery["attempts"] == 2
    assert told.to_json()["sent"][0]["campaign_id"] == "waste-1"
    assert story(outbox.db, "nosuch") is None


async def test_a_silenced_campaign_is_recorded_and_the_list_filters(
    outbox: Outbox, clock: Clock
) -> None:
    d = dispatcher(outbox, clock, Scripted())
    add_silence(outbox.db, "waste", starts_at=0, ends_at=clock.t + 10, reason="r", created_by="a")
    await d.send(alert(campaign="waste-1"))
    clock.t += 3600
    await d.send(alert("update", "over", 30, campaign="waste-2"))
    assert [c.campaign_id for c in campaigns(outbox.db)] == ["waste-2", "waste-1"]
    assert campaigns(outbox.db)[1].deliveries == {"suppressed": 1}
    assert [c.campaign_id for c in campaigns(outbox.db, states=["over"])] == ["waste-2"]
    assert [c.campaign_id for c in campaigns(outbox.db, since=clock.t - 60)] == ["waste-2"]
    assert campaigns(outbox.db, playbook="sewage") == []
    assert len(campaigns(outbox.db, limit=1)) == 1


async def test_retention_forgets_quiet_campaigns_but_not_pending_rows(
    outbox: Outbox, clock: Clock
) -> None:
    d = dispatcher(outbox, clock, Scripted())
    await d.send(alert(campaign="waste-1"))
    outbox.add_feedback("waste", "waste-1", Feedback("ack", "U1", "rosa"), now=clock.t)
    clock.t += 86400
    d.enqueue(alert(campaign="waste-2"))  # stored, not yet delivered
    assert prune(outbox.db, clock.t + 1) == 2
    assert campaigns(outbox.db) == []
    assert outbox.feedback("waste-1") == []
    assert outbox.counts() == {"pending": 1}  # what waits to go out is never forgotten


async def test_the_dispatcher_prunes_past_its_retention_at_most_hourly(
    outbox: Outbox, clock: Clock
) -> None:
    d = dispatcher(outbox, clock, Scripted())
    d.retention_s = 7 * 86400.0
    await d.send(alert(campaign="waste-1"))
    clock.t += 8 * 86400
    await d.send(alert(campaign="waste-2"))
    assert [c.campaign_id for c in campaigns(outbox.db)] == ["waste-2"]
