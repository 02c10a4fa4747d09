"""The fault-injection suite's real disk: a size-limited tmpfs, mounted when we may.

Mounting needs root (CAP_SYS_ADMIN); elsewhere the tests that need a filesystem that fills
skip and say why (tests/watcher/service/test_outbox_full.py fills a SQLite file instead,
with `PRAGMA max_page_count`, which needs no privilege).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

Mount = Callable[[int], Path]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """`tmpfs(bytes)` mounts a filesystem of that size and returns it; `resize` it with
    `tmpfs(bytes)` again (a remount: freeing space). Unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    where = tmp_path / "disk"
    where.mkdir()
    mounted = False

    def mount(size: int) -> Path:
        nonlocal mounted
        options = f"size={size}" if not mounted else f"remount,size={size}"
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted = True
        return where

    try:
        yield mount
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)
