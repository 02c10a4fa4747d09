"""Detector state in a SQLite file, so a restart neither re-alerts nor starts cold.

A checkpoint holds, per playbook, its runtime state (baselines, open buckets, recent history,
the open campaign and its tally, the strictness "Not a campaign" clicks left), pickled, plus
the engine's watermark, the ids of the organisation's own posts and the outbox feedback row
up to which clicks were applied. A playbook's state is restored only if its `watch.terms` and
`detect:` section are unchanged (the state's term indices and baselines depend on them); a
changed or new playbook starts cold and stays quiet until its baseline is warm.

The file is this service's own: it is written here and read back here, which is why
unpickling it is acceptable. Never point `--state` at a file from somewhere else: `check`,
run at start, refuses a SQLite file holding tables that are not ours (rather than adding
ours to it) and a path where nothing can be written (rather than failing at the shutdown
checkpoint, when the state would be lost); saved state that cannot be unpickled is a
`CheckpointError` too, not a traceback.
"""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from watcher.errors import GroundswellError
from watcher.pipeline.engine import Engine, PlaybookRuntime

#: 2: crowd statistics, per-term state, token novelty; 3: tokens derived; 4: a runtime's
#: open buckets in its `windows`, `Decision.growth` gone (one `acceleration`); 5: each
#: runtime's `standing` (who spoke on the issue before a surge), without which a restored
#: runtime named different voice candidates than one that never stopped
FORMAT = 5
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runtime (
    playbook TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS engine (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""
#: Every table a state file may hold: ours, and the feeds' cursors (`sources/cursors.py`).
OUR_TABLES = frozenset({"runtime", "engine", "source_cursors"})


class CheckpointError(GroundswellError, RuntimeError):
    """A state file that cannot be read as a Groundswell checkpoint."""

    what = "state"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A consistent copy of an engine's state, taken between batches."""

    runtimes: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # name → (fp, state)
    engine: bytes = b""
    saved_at: float = 0.0  # event time: the engine's watermark
    false_alarms: int | None = None  # `Engine.false_alarms_applied`


def fingerprint(runtime: PlaybookRuntime) -> str:
    pb = runtime.playbook
    text = "\n".join([*pb.watch.terms, pb.detect.model_dump_json()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def snapshot(engine: Engine, only: Collection[str] | None = None) -> Snapshot:
    """Pickle the engine's detection state now; cheap enough to do between batches. With
    `only`, just those playbooks' runtimes (a cluster shard's part of a worker's engine)."""
    runtimes = {
        r.playbook.name: (fingerprint(r), pickle.dumps(r.state(), pickle.HIGHEST_PROTOCOL))
        for r in engine.runtimes
        if only is None or r.playbook.name in only
    }
    own = pickle.dumps((FORMAT, engine.watermark, engine._own_ids), pickle.HIGHEST_PROTOCOL)
    return Snapshot(runtimes, own, engine.watermark, false_alarms=engine.false_alarms_applied)


def write(path: Path, snap: Snapshot) -> None:
    """Replace the checkpoint at `path` with `snap`, atomically (one transaction)."""
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
        db.execute("DELETE FROM runtime")
        db.executemany(
            "INSERT INTO runtime (playbook, fingerprint, state) VALUES (?, ?, ?)",
            [(name, fp, state) for name, (fp, state) in snap.runtimes.items()],
        )
        db.execute("INSERT OR REPLACE INTO engine VALUES ('state', ?)", (snap.engine,))
        # a row of its own, so checkpoints from before it still read (as None)
        db.execute("DELETE FROM engine WHERE key = 'false_alarms'")
        if snap.false_alarms is not None:
            db.execute("INSERT INTO engine VALUES ('false_alarms', ?)", (snap.false_alarms,))
    db.close()


def _refuse_foreign(db: sqlite3.Connection, path: Path) -> None:
    """CheckpointError when the file holds tables that are not a state file's."""
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    foreign = sorted(names - OUR_TABLES)
    if foreign:
        raise CheckpointError(
            f"--state {path}: not a Groundswell state file (it holds tables "
            f"{', '.join(foreign[:5])}); pass another path"
        )


def check(path: Path) -> None:
    """At start: refuse a `--state` path that could not be written, or a file not ours."""
    parent = path.parent
    if not parent.is_dir():
        raise CheckpointError(
            f"--state {path}: directory {parent} does not exist; create it or pass another path"
        )
    try:  # a real write, as the shutdown checkpoint will do (permission bits can lie)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise CheckpointError(
            f"--state {path}: cannot write in {parent} ({exc.strerror}); pass another path"
        ) from None
    try:
        db = sqlite3.connect(path)
        try:
            _refuse_foreign(db, path)
            with db:
                db.executescript(_SCHEMA)
        finally:
            db.close()
    except sqlite3.OperationalError as exc:  # cannot open or write it
        raise CheckpointError(
            f"--state {path}: cannot use it as a state file ({exc}); pass another path"
        ) from None
    except sqlite3.DatabaseError as exc:  # not SQLite at all
        raise CheckpointError(
            f"--state {path}: not a Groundswell state file ({exc}); move it away or pass "
            "another path"
        ) from None


def read(path: Path) -> Snapshot | None:
    """The checkpoint at `path`, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as db:
            _refuse_foreign(db, path)
            # the file is shared with the feeds' cursors, so it may hold only their table yet
            db.executescript(_SCHEMA)
            rows = db.execute("SELECT playbook, fingerprint, state FROM runtime").fetchall()
            found = db.execute("SELECT value FROM engine WHERE key = 'state'").fetchone()
            applied = db.execute("SELECT value FROM engine WHERE key = 'false_alarms'").fetchone()
        db.close()
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(
            f"--state {path}: not a Groundswell state file ({exc}); move it away or pass "
            "another path"
        ) from None
    if found is None:
        return None
    return Snapshot(
        {name: (fp, state) for name, fp, state in rows},
        found[0],
        false_alarms=None if applied is None else int(applied[0]),
    )


def restore(engine: Engine, snap: Snapshot) -> list[str]:
    """Load `snap` into a fresh engine; return the playbooks restored (others start cold)."""
    version, watermark, own_ids = pickle.loads(snap.engine)  # noqa: S301 (our own file)
    if version != FORMAT:
        return []
    restored = []
    for runtime in engine.runtimes:
        saved = snap.runtimes.get(runtime.playbook.name)
        if saved is None or saved[0] != fingerprint(runtime):
            continue
        runtime.load_state(pickle.loads(saved[1]))  # noqa: S301 (our own file)
        restored.append(runtime.playbook.name)
    engine.watermark = watermark
    engine._own_ids = set(own_ids)
    engine.false_alarms_applied = snap.false_alarms
    for runtime in engine.runtimes:  # cold runtimes start counting at the watermark
        if runtime.first_start is None and watermark > float("-inf"):
            runtime.start_at(watermark)
    engine._next_close = min((r.next_close() for r in engine.runtimes), default=float("inf"))
    return restored


def save(engine: Engine, path: Path) -> None:
    write(path, snapshot(engine))


#: What unpickling bytes that are not our state raises (a damaged or doctored file).
_UNREADABLE = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
               ImportError, IndexError, KeyError)  # fmt: skip


def load(engine: Engine, path: Path) -> list[str]:
    """Restore `engine` from `path` if there is a checkpoint; return the playbooks restored."""
    snap = read(path)
    if snap is None:
        return []
    try:
        return restore(engine, snap)
    except _UNREADABLE as exc:
        raise CheckpointError(
            f"--state {path}: its saved state cannot be read ({type(exc).__name__}: "
            f"{str(exc)[:80]}); move it away or pass another path"
        ) from None
