"""Where live sources keep their resume positions: a table in the service's SQLite state file.

The state file is shared with other parts of the service (`run --state FILE`); this module
owns only the `source_cursors` table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class CursorStore:
    """One integer cursor per source key, written in small WAL transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS source_cursors ("
                " source TEXT PRIMARY KEY, cursor INTEGER NOT NULL, updated_at REAL NOT NULL)"
            )
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"--state {path}: cannot use it as a SQLite state file ({exc}); "
                "give another path or remove the file"
            ) from None

    def load(self, source: str) -> int | None:
        row = self._db.execute(
            "SELECT cursor FROM source_cursors WHERE source = ?", (source,)
        ).fetchone()
        return None if row is None else int(row[0])

    def save(self, source: str, cursor: int, now: float) -> None:
        self._db.execute(
            "INSERT INTO source_cursors (source, cursor, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,"
            " updated_at = excluded.updated_at",
            (source, cursor, now),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
