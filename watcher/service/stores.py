"""Where the running service keeps its files, checked before anything is written.

Unless `state` and `outbox` are given, a service watching real feeds keeps both in its data
directory (`$GROUNDSWELL_DATA_DIR`, see `watcher/settings.py`). `prepare_stores` creates that
directory and proves it writable, then checks every file the settings name (state, outbox,
record) can be written where they say, so a missing, misplaced or read-only place is one
error line at start rather than a SQLite traceback at the first write, or at shutdown.
"""

from __future__ import annotations

import os
import tempfile

from watcher.errors import GroundswellError
from watcher.service import checkpoint
from watcher.settings import DATA_DIR_VARIABLE, Settings, SettingsError

__all__ = ["DataDirError", "StoreError", "check_stores", "prepare_data_dir", "prepare_stores"]


class DataDirError(SettingsError):
    """The data directory cannot be created or written."""

    what = "data directory"


class StoreError(GroundswellError):
    """The state, outbox or record file cannot be kept where the settings say."""

    what = "storage"


def check_stores(settings: Settings) -> None:
    """Refuse to start when the state, the outbox or the record could not be written, saying
    which and why, rather than failing inside SQLite at the first write (or as a traceback).
    Real feeds have their state and outbox in the data directory by now; the demo keeps
    throwaway ones unless told otherwise."""
    # the state file has a stricter check of its own (`checkpoint.check`: ours, writable)
    for flag, path in (("--outbox", settings.outbox), ("--record", settings.record)):
        if path is None:
            continue
        folder = path.parent
        if not folder.is_dir():
            why = "is not a folder" if folder.exists() else "does not exist"
            raise StoreError(f"{flag} {path}: the folder {folder} {why}; create it first")
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise StoreError(f"{flag} {path}: not writable by this user; fix its permissions")


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory if the state or outbox file is in it, and prove it writable.

    Raises `DataDirError` naming the directory and the reason: a SQLite "unable to open
    database file" later says neither.
    """
    folder = settings.env.data_dir
    if folder not in {p.parent for p in (settings.state, settings.outbox) if p is not None}:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # a real write: access() can be wrong (NFS)
            pass
    except OSError as exc:
        raise DataDirError(
            [
                f"{folder} (${DATA_DIR_VARIABLE}) cannot be created or written: "
                f"{exc.strerror or exc}; set {DATA_DIR_VARIABLE} to a writable directory "
                "or give --state and --outbox"
            ]
        ) from None


def prepare_stores(settings: Settings) -> None:
    """The data directory made and proved writable, every store's place checked, and the state
    file proved ours and writable (`checkpoint.check`), now rather than at the shutdown
    checkpoint, when the state would be lost."""
    prepare_data_dir(settings)
    check_stores(settings)
    if settings.state is not None:
        checkpoint.check(settings.state)
