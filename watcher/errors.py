"""The root of every expected failure in watcher: `GroundswellError`.

An expected failure is one a user can fix (a bad playbook, config file, `--source`, state
file or token) or a feed can cause (a malformed post, a refused connection). Each subclass
says in `what` which thing failed; its message says why, in plain words. The command line
catches `GroundswellError` at the top and prints `groundswell: <what>: <why>` instead of a
traceback; anything else escaping is a bug and keeps its traceback.

The packages beside watcher (`detectors`, `responders`) cannot import watcher, so their
errors do not derive from this root: responders return delivery results instead of raising.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["GroundswellError"]


class GroundswellError(Exception):
    """An expected failure; `what` names the thing that failed, `str()` says why."""

    #: What failed, as the one-line report names it: `groundswell: <what>: <why>`.
    what: ClassVar[str] = "error"

    def one_line(self) -> str:
        """The report the command line prints: several problems are joined with `; `."""
        why = "; ".join(line for line in str(self).splitlines() if line.strip())
        return f"groundswell: {self.what}: {why or type(self).__name__}"
