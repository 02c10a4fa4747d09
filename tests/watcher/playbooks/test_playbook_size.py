"""A playbook file over the 1 MB cap is refused after reading one byte past the cap, so a
symlink to /dev/zero (an endless file) is one error, never a `MemoryError` (issue 14, D12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINI_PLAYBOOK, REPO
from watcher.playbooks.findings import PlaybookError
from watcher.playbooks.model import check_playbooks, load_playbooks
from watcher.playbooks.yamlmarks import MAX_BYTES

needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
TOO_BIG = "error: file is over 1 MB (1,000,000 bytes); a playbook is a few kilobytes"


def _endless(tmp_path: Path) -> Path:
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    (tmp_path / "good.yaml").write_text(MINI_PLAYBOOK, encoding="utf-8")
    return link


@needs_dev_zero
def test_check_refuses_a_symlink_to_dev_zero_in_one_line(tmp_path: Path) -> None:
    link = _endless(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{link}:1:1: {TOO_BIG}"]


@needs_dev_zero
def test_loading_refuses_a_symlink_to_dev_zero_and_keeps_the_good_file(tmp_path: Path) -> None:
    link = _endless(tmp_path)
    checked = check_playbooks([tmp_path])
    assert [str(p) for p in checked.problems] == [f"{link}:1:1: {TOO_BIG}"]
    assert [p.name for p in checked.playbooks] == ["waste"]
    with pytest.raises(PlaybookError) as info:
        load_playbooks([tmp_path])
    assert [str(p) for p in info.value.problems] == [f"{link}:1:1: {TOO_BIG}"]


def test_the_cap_is_counted_in_bytes_read(tmp_path: Path) -> None:
    # Padding in a YAML comment: exactly at the cap loads, one byte more is refused.
    body = MINI_PLAYBOOK.encode("utf-8")
    at_cap = tmp_path / "at.yaml"
    at_cap.write_bytes(b"#" + b"x" * (MAX_BYTES - len(body) - 2) + b"\n" + body)
    assert at_cap.stat().st_size == MAX_BYTES
    assert [p.name for p in load_playbooks([at_cap])] == ["waste"]
    over = tmp_path / "over.yaml"
    over.write_bytes(b"#" + b"x" * (MAX_BYTES - len(body) - 1) + b"\n" + body)
    with pytest.raises(PlaybookError) as info:
        load_playbooks([over])
    assert [str(p) for p in info.value.problems] == [f"{over}:1:1: {TOO_BIG}"]


def test_windows_line_endings_still_load(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.yaml"
    crlf.write_bytes(MINI_PLAYBOOK.replace("\n", "\r\n").encode("utf-8"))
    assert [p.name for p in load_playbooks([crlf])] == ["waste"]
