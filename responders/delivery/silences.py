"""Silences, in the manner of Alertmanager's: a playbook (or one of its terms) muted until a
time, with who asked and why.

A silenced campaign is still detected and recorded in the alert history; only its delivery
is suppressed, and only while the silence lasts: an update after it ends goes out. The Slack
Snooze button makes the same kind of silence (playbook-wide, `snooze_hours` long) as
`groundswell silence add`. Silences live in the outbox's SQLite file, in wall-clock time
(the time people set them in), and are never deleted early: expiring one ends it now, so the
record of who silenced what stays.

All times are passed in (seconds since the epoch); this module reads no clock.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from responders.alert import Alert, rfc3339, utc

SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    playbook TEXT NOT NULL,
    term TEXT NOT NULL DEFAULT '',
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS silences_playbook ON silences (playbook, ends_at);
"""


@dataclass(frozen=True, slots=True)
class Silence:
    """Alerts of `playbook` (those with `term` among their terms, when a term is given) are
    not delivered from `starts_at` until `ends_at`."""

    id: str
    playbook: str
    term: str
    starts_at: float
    ends_at: float
    reason: str
    created_by: str

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, alert: Alert) -> bool:
        """Whether this silence covers `alert` (at any time: see `active`)."""
        s = alert.surge
        if s.playbook != self.playbook:
            return False
        return not self.term or self.term.casefold() in {t.casefold() for t, _ in s.terms}

    def state(self, now: float) -> str:
        """`active`, `pending` (starts later) or `expired`, as amtool says."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "playbook": self.playbook,
            "term": self.term or None,
            "starts_at": rfc3339(utc(self.starts_at)),
            "ends_at": rfc3339(utc(self.ends_at)),
            "reason": self.reason,
            "created_by": self.created_by,
            "state": self.state(now),
        }


_COLUMNS = "id, playbook, term, starts_at, ends_at, reason, created_by"


def _silence(row: tuple[Any, ...]) -> Silence:
    i, playbook, term, starts, ends, reason, by = row
    return Silence(str(i), playbook, term, float(starts), float(ends), reason, by)


def add_silence(
    db: sqlite3.Connection,
    playbook: str,
    *,
    starts_at: float,
    ends_at: float,
    reason: str,
    created_by: str,
    term: str = "",
) -> Silence:
    """Store a new silence and return it, with a fresh short id (amtool prints a UUID; eight
    hex digits are enough to type and never repeat in one team's file)."""
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    while True:
        silence = Silence(
            secrets.token_hex(4), playbook, term, starts_at, ends_at, reason, created_by
        )
        try:
            db.execute(
                f"INSERT INTO silences ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (silence.id, playbook, term, starts_at, ends_at, reason, created_by),
            )
        except sqlite3.IntegrityError:  # the id was taken: draw another
            continue
        return silence


def get_silence(db: sqlite3.Connection, silence_id: str) -> Silence | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM silences WHERE id = ?",  # noqa: S608
        (silence_id,),
    ).fetchone()
    return None if row is None else _silence(row)


def list_silences(
    db: sqlite3.Connection, now: float, *, expired: bool = False, playbook: str | None = None
) -> list[Silence]:
    """Silences not yet ended at `now` (with `expired`, the ended ones too), newest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM silences WHERE (?1 OR ends_at > ?2)"  # noqa: S608
        " AND (?3 IS NULL OR playbook = ?3) ORDER BY starts_at DESC, rowid DESC",
        (int(expired), now, playbook),
    ).fetchall()
    return [_silence(row) for row in rows]


def expire_silence(db: sqlite3.Connection, silence_id: str, now: float) -> Silence | None:
    """End the silence at `now` (kept, as an expired one); None when there is no such id.
    Expiring one that already ended changes nothing."""
    db.execute(
        "UPDATE silences SET ends_at = MIN(ends_at, ?2), starts_at = MIN(starts_at, ?2)"
        " WHERE id = ?1",
        (silence_id, now),
    )
    return get_silence(db, silence_id)


def silence_for(db: sqlite3.Connection, alert: Alert, now: float) -> Silence | None:
    """The active silence covering `alert` at `now` that lasts longest, or None."""
    found = [s for s in list_silences(db, now, playbook=alert.surge.playbook) if s.active(now)]
    covering = [s for s in found if s.matches(alert)]
    return max(covering, key=lambda s: s.ends_at, default=None)
