"""The alert history: every campaign, its alerts, what people did and what delivery did.

Kept in the outbox's SQLite file beside the queue. Each alert is recorded once (whatever
its channels, and also when a silence or the lack of a channel kept it from going out) in
the same transaction that queues it; the clicks are the outbox's `feedback` rows and the
delivery outcomes its `outbox` rows. `prune` forgets campaigns quiet for longer than the
retention, so the file does not grow forever.

Times are wall-clock seconds since the epoch, passed in: `recorded_at` is when the alert was
detected and stored, `fired_at` the event time it fired at (the same for a live feed, years
apart for a replayed one). This module reads no clock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from responders.alert import Alert, rfc3339, utc
from responders.channels.console import render
from responders.codec import decode, encode

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    playbook TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    fired_at REAL NOT NULL,
    recorded_at REAL NOT NULL,
    posts INTEGER NOT NULL,
    terms TEXT NOT NULL,
    alert BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_campaign ON alerts (campaign_id, id);
CREATE INDEX IF NOT EXISTS alerts_recorded ON alerts (recorded_at);
"""

#: How long a quiet campaign is kept by default (`history_days` in the service config).
RETENTION_DAYS = 90.0


def history_key(alert: Alert) -> str:
    """One alert of one campaign: the same alert re-detected after a restart is one row."""
    s = alert.surge
    return f"{s.campaign_id}|{s.kind}|{s.state}|{rfc3339(s.fired_at)}"


def record(db: sqlite3.Connection, alerts: Sequence[Alert], *, now: float) -> int:
    """Add the alerts not recorded before (call inside the caller's transaction); returns
    how many were new."""
    added = 0
    for alert in alerts:
        s = alert.surge
        cursor = db.execute(
            "INSERT OR IGNORE INTO alerts (key, playbook, campaign_id, kind, state, fired_at,"
            " recorded_at, posts, terms, alert) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (history_key(alert), s.playbook, s.campaign_id, s.kind, s.state,
             s.fired_at.timestamp(), now, s.posts, orjson.dumps([t for t, _ in s.terms]),
             encode(alert)),
        )  # fmt: skip
        added += cursor.rowcount
    return added


@dataclass(frozen=True, slots=True)
class Campaign:
    """One campaign as the history sums it up."""

    campaign_id: str
    playbook: str
    state: str  # the lifecycle state of its latest alert
    first_fired_at: float
    last_fired_at: float
    detected_at: float  # when its first alert was recorded
    last_recorded_at: float
    alerts: int
    posts: int  # as of the latest alert
    terms: tuple[str, ...]
    acknowledged_by: tuple[str, ...]
    not_campaign_by: tuple[str, ...]
    deliveries: dict[str, int]  # outbox rows by status: sent, suppressed, pending, …

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "playbook": self.playbook,
            "state": self.state,
            "first_fired_at": rfc3339(utc(self.first_fired_at)),
            "last_fired_at": rfc3339(utc(self.last_fired_at)),
            "detected_at": rfc3339(utc(self.detected_at)),
            "last_recorded_at": rfc3339(utc(self.last_recorded_at)),
            "alerts": self.alerts,
            "posts": self.posts,
            "terms": list(self.terms),
            "acknowledged_by": list(self.acknowledged_by),
            "not_campaign_by": list(self.not_campaign_by),
            "deliveries": dict(self.deliveries),
        }


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to a campaign: an alert, a delivery outcome or a click."""

    at: float
    what: str  # alert, delivery, ack, snooze, not_campaign
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"at": rfc3339(utc(self.at)), "what": self.what, **self.detail}


@dataclass(frozen=True, slots=True)
class Story:
    """A campaign in full: its summary, every alert as stored, and its timeline."""

    campaign: Campaign
    alerts: tuple[Alert, ...]
    events: tuple[Event, ...]

    def to_json(self) -> dict[str, Any]:
        """The summary, the timeline, the brief as the console shows it (it goes out with
        the first alert) and every alert in the alerts NDJSON format."""
        return {
            **self.campaign.to_json(),
            "history": [event.to_json() for event in self.events],
            "brief": render(self.alerts[0]) if self.alerts else "",
            "sent": [alert.to_json() for alert in self.alerts],
        }


def _people(db: sqlite3.Connection, campaign_id: str, action: str) -> tuple[str, ...]:
    rows = db.execute(
        "SELECT COALESCE(NULLIF(user_name, ''), user_id) AS who FROM feedback"
        " WHERE campaign_id = ? AND action = ? GROUP BY who ORDER BY MIN(id)",
        (campaign_id, action),
    )
    return tuple(str(who) for (who,) in rows)


def _campaign(db: sqlite3.Connection, row: tuple[Any, ...]) -> Campaign:
    campaign_id, playbook, first, last, detected, recorded, n = row
    state, posts, terms = db.execute(
        "SELECT state, posts, terms FROM alerts WHERE campaign_id = ? ORDER BY id DESC LIMIT 1",
        (campaign_id,),
    ).fetchone()
    statuses = db.execute(
        "SELECT status, COUNT(*) FROM outbox WHERE campaign_id = ? GROUP BY status",
        (campaign_id,),
    )
    return Campaign(
        campaign_id,
        playbook,
        state,
        float(first),
        float(last),
        float(detected),
        float(recorded),
        int(n),
        int(posts),
        tuple(orjson.loads(terms)),
        _people(db, campaign_id, "ack"),
        _people(db, campaign_id, "not_campaign"),
        {str(status): int(count) for status, count in statuses},
    )


_SUMMARY = (
    "SELECT campaign_id, MIN(playbook), MIN(fired_at), MAX(fired_at), MIN(recorded_at),"
    " MAX(recorded_at), COUNT(*) FROM alerts"
)


def campaigns(
    db: sqlite3.Connection,
    *,
    since: float | None = None,
    playbook: str | None = None,
    states: Sequence[str] = (),
    limit: int = 100,
) -> list[Campaign]:
    """Campaigns with an alert recorded at or after `since`, latest activity first; only
    `playbook`'s when given, only those whose latest state is one of `states` when given."""
    rows = db.execute(
        f"{_SUMMARY} WHERE (?1 IS NULL OR playbook = ?1) GROUP BY campaign_id"
        " HAVING MAX(recorded_at) >= ?2 ORDER BY MAX(recorded_at) DESC, MAX(id) DESC",
        (playbook, -1.0 if since is None else since),
    ).fetchall()
    found: list[Campaign] = []
    for row in rows:
        campaign = _campaign(db, row)
        if not states or campaign.state in states:
            found.append(campaign)
            if len(found) >= limit:
                break
    return found


def story(db: sqlite3.Connection, campaign_id: str) -> Story | None:
    """Everything recorded about one campaign, or None when the history has no such id."""
    row = db.execute(f"{_SUMMARY} WHERE campaign_id = ?", (campaign_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    events: list[Event] = []
    alerts: list[Alert] = []
    for recorded, kind, state, posts, blob in db.execute(
        "SELECT recorded_at, kind, state, posts, alert FROM alerts WHERE campaign_id = ?"
        " ORDER BY id",
        (campaign_id,),
    ):
        alert = decode(blob)
        alerts.append(alert)
        fired = rfc3339(alert.surge.fired_at)
        detail = {"kind": kind, "state": state, "posts": posts, "fired_at": fired}
        events.append(Event(float(recorded), "alert", detail))
    for done, responder, kind, status, attempts, error in db.execute(
        "SELECT done_at, responder, kind, status, attempts, last_error FROM outbox"
        " WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    ):
        detail = {"responder": responder, "kind": kind, "status": status, "attempts": attempts}
        if error:
            detail["error"] = error
        events.append(Event(float(done), "delivery", detail))
    for at, action, user_id, user_name in db.execute(
        "SELECT at, action, user_id, user_name FROM feedback WHERE campaign_id = ? ORDER BY id",
        (campaign_id,),
    ):
        events.append(Event(float(at), action, {"by": user_name or user_id}))
    # a pending delivery has no time yet: it sorts last, where it belongs
    events.sort(key=lambda e: (e.at if e.at > 0 else float("inf"), e.what != "alert"))
    return Story(_campaign(db, row), tuple(alerts), tuple(events))


def prune(db: sqlite3.Connection, before: float) -> int:
    """Forget the campaigns whose last alert was recorded before `before` (their alerts,
    finished deliveries, clicks and Slack threads) and the silences that ended before it;
    returns how many campaigns went. Rows still waiting to be delivered are kept."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS gone (campaign_id TEXT PRIMARY KEY) WITHOUT ROWID"
        )
        db.execute("DELETE FROM gone")
        db.execute(
            "INSERT INTO gone SELECT campaign_id FROM alerts GROUP BY campaign_id"
            " HAVING MAX(recorded_at) < ?",
            (before,),
        )
        (count,) = db.execute("SELECT COUNT(*) FROM gone").fetchone()
        for table in ("alerts", "feedback", "threads"):
            db.execute(f"DELETE FROM {table} WHERE campaign_id IN gone")  # noqa: S608
        db.execute("DELETE FROM outbox WHERE status != 'pending' AND campaign_id IN gone")
        db.execute("DELETE FROM silences WHERE ends_at < ?", (before,))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return int(count)
