"""What checking playbooks finds: each problem with its severity, and the set that can run.

An *error* means a playbook cannot be understood (bad YAML, a wrong type, an unknown or
missing key, an unsafe tag, an alias bomb, a name another playbook already uses): it cannot
run as written. A *warning* means it works but is probably not what was meant (a term
another term covers, an `all_of` group that narrows nothing, a broken link): it runs, and
the finding is reported. So one mistake never silences the other playbooks, and a warning
never silences its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from watcher.errors import GroundswellError

if TYPE_CHECKING:
    from watcher.playbooks.model import Playbook

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a playbook file, with where it is and how bad it is."""

    path: str
    line: int
    col: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"


class PlaybookError(GroundswellError):
    """One or more playbook files cannot be used; `problems` lists every finding."""

    what = "playbooks"

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Checked:
    """A set of playbook files, checked: what can run, every finding, and what cannot run."""

    playbooks: tuple[Playbook, ...]  # every playbook without an error, in file order
    problems: tuple[Problem, ...]  # every error and warning, by file, then line
    skipped: tuple[str, ...]  # the files left out because they have an error
    files: tuple[str, ...] = ()  # the file each of `playbooks` came from, in the same order

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")
