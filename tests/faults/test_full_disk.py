"""A disk that fills mid-run under a real filesystem (a size-limited tmpfs): `replay
--deliver` says so in one line and exits 2, and once space returns the same outbox delivers
every alert exactly once (issue 14)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import Mount
from watcher.simulation.generate import write

pytestmark = pytest.mark.timeout(300)


def replay(posts: Path, outbox: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", "replay", str(posts), "--deliver", "--outbox",
         str(outbox), "--alerts-out", str(outbox.parent.parent / "alerts.ndjson")],
        capture_output=True, text=True, check=False, timeout=240,
    )  # fmt: skip


def outbox_rows(outbox: Path) -> dict[str, int]:
    with sqlite3.connect(outbox) as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())


def test_replay_deliver_on_a_disk_that_fills_is_one_line_then_resumes(
    tmpfs: Mount, tmp_path: Path
) -> None:
    posts = tmp_path / "posts.ndjson"
    write("trafigura", posts)
    disk = tmpfs(160 * 1024)  # the schema fits, the alerts do not
    outbox = disk / "outbox.sqlite3"
    full = replay(posts, outbox)
    assert full.returncode == 2, full.stderr
    assert "Traceback" not in full.stderr
    last = full.stderr.splitlines()[-1]
    assert last.startswith("groundswell: disk: the disk filled during the replay (database or")
    assert last.endswith(f"free some space and replay again with --outbox {outbox} to deliver "
                         "the rest")  # fmt: skip
    tmpfs(16 * 2**20)  # space returns
    again = replay(posts, outbox)
    assert again.returncode == 0, again.stderr
    clean = tmp_path / "clean" / "outbox.sqlite3"
    clean.parent.mkdir()
    assert replay(posts, clean).returncode == 0
    expected = outbox_rows(clean)
    assert sum(expected.values()) > 0
    assert outbox_rows(outbox) == expected  # every alert dealt with once, as without the fault
