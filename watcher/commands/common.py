"""Helpers shared by the subcommands."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from watcher.errors import GroundswellError
from watcher.playbooks.model import Playbook, PlaybookError, load_playbooks
from watcher.settings import DEFAULT_PLAYBOOKS

__all__ = ["DEFAULT_PLAYBOOKS", "InputError", "open_input", "playbooks_or_exit"]


class InputError(GroundswellError):
    """A file named on the command line cannot be read."""

    what = "input"


def open_input(path: Path) -> BinaryIO:
    """`path` opened for reading, or `InputError` saying why it cannot be."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def playbooks_or_exit(paths: Sequence[Path]) -> list[Playbook]:
    """Load playbooks, or print every problem as path:line:col and exit 1."""
    try:
        playbooks = load_playbooks(paths)
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1) from None
    if not playbooks:
        print(f"no playbooks found in {', '.join(map(str, paths))}", file=sys.stderr)
        raise SystemExit(1)
    return playbooks
