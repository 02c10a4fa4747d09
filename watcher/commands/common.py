"""Helpers shared by the subcommands: reading inputs, writing outputs, loading playbooks."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from watcher.errors import GroundswellError
from watcher.playbooks.findings import Checked
from watcher.playbooks.model import check_playbooks
from watcher.settings import DEFAULT_PLAYBOOKS

__all__ = [
    "DEFAULT_PLAYBOOKS",
    "InputError",
    "OutputError",
    "check_output",
    "open_input",
    "playbooks_or_exit",
]


class InputError(GroundswellError):
    """A file named on the command line cannot be read."""

    what = "input"


class OutputError(GroundswellError):
    """A file named on the command line cannot be written."""

    what = "output"


def open_input(path: Path) -> BinaryIO:
    """`path` opened for reading, or `InputError` saying why it cannot be."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def check_output(path: Path) -> Path:
    """`path` if a file can be written there, else `OutputError`; checked before the work,
    so a long replay or simulation does not end in a traceback at its last step."""
    folder = path.parent
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name in it")
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"{path}: cannot write: the folder {folder} {why}; create it first")
    return path


def playbooks_or_exit(paths: Sequence[Path], *, strict: bool = False) -> Checked:
    """Check the playbooks, printing every error and warning on stderr as `groundswell
    check` does; the ones without an error run, the others are skipped and named. Exit 1
    when none can run, or, with `strict`, when anything was found."""
    checked = check_playbooks(paths)
    for problem in checked.problems:
        print(problem, file=sys.stderr)
    if strict and checked.problems:
        errors, warnings = len(checked.errors), len(checked.warnings)
        print(
            f"--strict: {errors} error{'' if errors == 1 else 's'} and {warnings} "
            f"warning{'' if warnings == 1 else 's'} in the playbooks; not starting",
            file=sys.stderr,
        )
        raise SystemExit(1)
    if not checked.playbooks:
        if not checked.problems:
            print(f"no playbooks found in {', '.join(map(str, paths))}", file=sys.stderr)
        raise SystemExit(1)
    for skipped in checked.skipped:
        print(f"skipping {skipped}: it has errors; the other playbooks run", file=sys.stderr)
    return checked
