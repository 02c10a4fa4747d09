"""The durable outbox: every alert is written to SQLite before it is sent.

One row per alert and channel, keyed so that re-detecting the same alert after a restart adds
nothing. A row is marked sent only after the far end said ok, so a crash or an outage loses
nothing. The same file keeps what delivery needs to remember: each campaign's Slack thread,
button feedback, silences (`responders.delivery.silences`) and the alert history
(`responders.delivery.history`).

All times are passed in (seconds since the epoch); this module reads no clock.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from responders.alert import Alert
from responders.codec import decode, encode
from responders.delivery import history, silences
from responders.delivery.feedback import Feedback, feedback_action

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    responder TEXT NOT NULL,
    playbook TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    fired_at REAL NOT NULL,
    alert BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    noisy INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, id);
CREATE TABLE IF NOT EXISTS threads (
    responder TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    ts TEXT NOT NULL,
    alert BLOB NOT NULL,
    PRIMARY KEY (responder, campaign_id)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    playbook TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    action TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS identity (token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snoozes (
    playbook TEXT PRIMARY KEY,
    until REAL NOT NULL,
    by TEXT NOT NULL
);
"""
#: Columns added since the first release, each with its definition: added on open.
_ADDED = {("outbox", "done_at"): "REAL NOT NULL DEFAULT 0"}


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    key: str
    responder: str
    campaign_id: str
    alert: Alert
    attempts: int
    next_at: float


@dataclass(frozen=True, slots=True)
class FalseAlarm:
    """A campaign staff marked "Not a campaign": `id` is its feedback row, to resume after."""

    id: int
    playbook: str
    campaign_id: str


@dataclass(frozen=True, slots=True)
class Thread:
    """Where a campaign's conversation lives in one Slack channel."""

    channel_id: str
    ts: str
    alert: Alert  # the latest state, so a button click can redraw the top message


class Outbox:
    """The SQLite file behind delivery. Open it with the path given on the command line."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # Autocommit; every write below is one statement or an explicit transaction, and
        # WAL keeps readers (the metrics endpoint) off the writer's back.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # sent-marks must survive power loss
        self._db.executescript(_SCHEMA + history.SCHEMA + silences.SCHEMA)
        for (table, column), definition in _ADDED.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        self._adopt_snoozes()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for the history and silence queries that share this file."""
        return self._db

    def _adopt_snoozes(self) -> None:
        """Snoozes from before silences existed become silences (playbook-wide)."""
        rows = self._db.execute("SELECT playbook, until, by FROM snoozes").fetchall()
        for playbook, until, by in rows:
            silences.add_silence(
                self._db, playbook, starts_at=0.0, ends_at=until, reason="Slack snooze",
                created_by=by,
            )  # fmt: skip
        self._db.execute("DELETE FROM snoozes")

    def close(self) -> None:
        self._db.close()

    # -- the queue -------------------------------------------------------------------------
    def add(self, key: str, responder: str, alert: Alert, *, now: float) -> bool:
        """Store an alert for one responder; False when that key was stored before."""
        s = alert.surge
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO outbox (key, responder, playbook, campaign_id, kind, fired_at,"
            " alert, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, responder, s.playbook, s.campaign_id, s.kind, s.fired_at.timestamp(),
             encode(alert), now),
        )  # fmt: skip
        return cursor.rowcount == 1

    def add_all(
        self,
        entries: Sequence[tuple[str, str, Alert]],
        *,
        now: float,
        alerts: Sequence[Alert] = (),
    ) -> int:
        """Store (key, responder, alert) entries, and record `alerts` in the history, in one
        transaction, so one fsync makes a whole batch durable; returns how many entries were
        new. On an error (a full disk: SQLITE_FULL) nothing is stored and the error is
        raised, so the caller can keep them and retry."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            history.record(self._db, alerts, now=now)
            added = sum(
                self.add(key, responder, alert, now=now) for key, responder, alert in entries
            )
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed COMMIT may have rolled back already
                self._db.execute("ROLLBACK")
            raise
        return added

    def pending(self, responder: str | None = None) -> list[Row]:
        """Rows not yet sent (only `responder`'s when given), oldest first (the order they
        must go out in)."""
        rows = self._db.execute(
            "SELECT id, key, responder, campaign_id, alert, attempts, next_at FROM outbox"
            " WHERE status = 'pending' AND (?1 IS NULL OR responder = ?1) ORDER BY id",
            (responder,),
        ).fetchall()
        return [Row(i, k, r, c, decode(a), n, t) for i, k, r, c, a, n, t in rows]

    def begin_attempt(self, row_id: int) -> None:
        """Count the attempt before making it, so after a crash the row is known in doubt."""
        self._db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (row_id,))

    def finish(
        self, row_id: int, status: str, *, noisy: bool = False, error: str = "", at: float = 0.0
    ) -> None:
        """The row is done (`at`: when, for the history)."""
        self._db.execute(
            "UPDATE outbox SET status = ?, noisy = ?, last_error = ?, done_at = ? WHERE id = ?",
            (status, int(noisy), error, at, row_id),
        )

    def revive(self) -> int:
        """Put rows whose retries ran out (an outage) back in the queue; returns how many.

        Their attempt count stays above zero, so the first new try checks whether an
        earlier one got through."""
        cursor = self._db.execute(
            "UPDATE outbox SET status = 'pending', attempts = 1, next_at = 0"
            " WHERE status = 'gave_up'"
        )
        return cursor.rowcount

    def retry_at(self, row_id: int, when: float, error: str) -> None:
        self._db.execute(
            "UPDATE outbox SET next_at = ?, last_error = ? WHERE id = ?", (when, error, row_id)
        )

    def last_noise(self, responder: str, campaign_id: str) -> float | None:
        """Event time of the last message that pinged people about this campaign here."""
        row = self._db.execute(
            "SELECT MAX(fired_at) FROM outbox WHERE responder = ? AND campaign_id = ?"
            " AND status = 'sent' AND noisy = 1",
            (responder, campaign_id),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        """Rows by status, for metrics and the end-of-run summary."""
        rows = self._db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {status: int(n) for status, n in rows}

    # -- Slack threads ---------------------------------------------------------------------
    def thread(self, responder: str, campaign_id: str) -> Thread | None:
        row = self._db.execute(
            "SELECT channel_id, ts, alert FROM threads WHERE responder = ? AND campaign_id = ?",
            (responder, campaign_id),
        ).fetchone()
        return None if row is None else Thread(row[0], row[1], decode(row[2]))

    def save_thread(self, responder: str, alert: Alert, channel_id: str, ts: str) -> None:
        self._db.execute(
            "INSERT INTO threads (responder, campaign_id, channel_id, ts, alert)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (responder, campaign_id) DO UPDATE"
            " SET channel_id = excluded.channel_id, ts = excluded.ts, alert = excluded.alert",
            (responder, alert.surge.campaign_id, channel_id, ts, encode(alert)),
        )

    def channel_id(self, responder: str) -> str | None:
        """The Slack channel id this responder's messages went to, once one has been sent."""
        row = self._db.execute(
            "SELECT channel_id FROM threads WHERE responder = ? LIMIT 1", (responder,)
        ).fetchone()
        return None if row is None else str(row[0])

    # -- feedback and snoozes --------------------------------------------------------------
    def add_feedback(self, playbook: str, campaign_id: str, note: Feedback, *, now: float) -> None:
        self._db.execute(
            "INSERT INTO feedback (playbook, campaign_id, action, user_id, user_name, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (playbook, campaign_id, note.action, note.user_id, note.user_name, now),
        )

    def feedback(self, campaign_id: str) -> list[Feedback]:
        rows = self._db.execute(
            "SELECT action, user_id, user_name FROM feedback WHERE campaign_id = ? ORDER BY id",
            (campaign_id,),
        ).fetchall()
        return [Feedback(feedback_action(a), u, n) for a, u, n in rows]

    def feedback_counts(self) -> dict[tuple[str, str], int]:
        """(playbook, action) → clicks, for the metrics endpoint."""
        rows = self._db.execute(
            "SELECT playbook, action, COUNT(*) FROM feedback GROUP BY playbook, action"
        )
        return {(p, a): int(n) for p, a, n in rows}

    def false_alarms(self, after: int) -> list[FalseAlarm]:
        """Campaigns first marked "Not a campaign" in a feedback row after `after`, oldest
        first. A second person clicking the same alert is agreement, not a second false
        alarm, so each campaign comes once."""
        rows = self._db.execute(
            "SELECT id, playbook, campaign_id FROM feedback AS f WHERE action = 'not_campaign'"
            " AND id > ? AND NOT EXISTS (SELECT 1 FROM feedback AS e WHERE e.id < f.id"
            " AND e.action = 'not_campaign' AND e.campaign_id = f.campaign_id) ORDER BY id",
            (after,),
        ).fetchall()
        return [FalseAlarm(int(i), p, c) for i, p, c in rows]

    def identity(self) -> str:
        """This file's own random token, made the first time it is asked for: tells a
        replaced outbox (whose row ids start again) from the one it replaced."""
        row = self._db.execute("SELECT token FROM identity").fetchone()
        if row is not None:
            return str(row[0])
        token = os.urandom(8).hex()
        self._db.execute("INSERT INTO identity VALUES (?)", (token,))
        return token

    def last_feedback_id(self) -> int:
        """The newest feedback row's id (0 when there is none)."""
        row = self._db.execute("SELECT MAX(id) FROM feedback").fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def snooze(self, playbook: str, until: float, by: str, *, now: float) -> silences.Silence:
        """The Slack Snooze button: a playbook-wide silence from `now` until `until`."""
        return silences.add_silence(
            self._db, playbook, starts_at=now, ends_at=until, reason="Slack snooze", created_by=by
        )

    def snoozed_until(self, playbook: str, now: float) -> float | None:
        """When the playbook-wide silence of the playbook ends, or None if there is none
        at `now`."""
        ends = [
            s.ends_at
            for s in silences.list_silences(self._db, now, playbook=playbook)
            if s.active(now) and not s.term
        ]
        return max(ends, default=None)
