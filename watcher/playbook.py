"""Playbooks: the YAML a campaign team writes, validated into frozen, closed models.

Each section is declared by the package that reads it: `watch` here (the matcher lives in
`watcher`), `detect` in `detectors`, `respond` in `responders`. Errors come back as
`path:line:col: message`, one per problem, never as a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from detectors.params import DetectParams
from responders.params import RespondParams
from watcher.yamlmarks import Marked, YamlError, load_marked

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class WatchParams(BaseModel):
    """What counts as talk about this issue area, and what is the organisation's own voice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: tuple[str, ...] = Field(
        min_length=1,
        description=(
            "Words, phrases and #hashtags of the issue area. A term matches where it stands in "
            "a post as whole words, ignoring case and accents: `gag order` matches 'the Gag "
            "Order' but not 'gag-order' or 'gagging order'. A plain word also matches its "
            "#hashtag (`trafigura` matches '#Trafigura'); a #hashtag term matches only the tag."
        ),
    )
    exclude: tuple[str, ...] = Field(
        default=(), description="A post containing any of these does not count."
    )
    own_accounts: tuple[str, ...] = Field(
        default=(),
        description="The organisation's accounts: their posts and reshares of them do not count.",
    )
    own_domains: tuple[str, ...] = Field(
        default=(),
        description="The organisation's web domains: posts linking to them do not count.",
    )

    @field_validator("terms", "exclude")
    @classmethod
    def _no_empty_terms(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        for term in terms:
            if not term.strip(" #"):
                raise ValueError("empty term")
        return tuple(term.strip() for term in terms)


class Playbook(BaseModel):
    """One issue area: what to watch, how to detect, and how to respond."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        description="Short unique id: lower-case letters, digits, '-' and '_'.",
    )
    description: str = Field(default="", description="What this issue area is, for people.")
    watch: WatchParams
    detect: DetectParams = Field(default_factory=DetectParams)
    respond: RespondParams = Field(default_factory=RespondParams)

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(
                f"{name!r} is not a valid name: use lower-case letters, digits, '-' and '_'"
            )
        return name


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a playbook file, with where it is."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class PlaybookError(Exception):
    """One or more playbook files are invalid; `problems` lists every one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(loc: Sequence[str | int]) -> list[str]:
    """Names of the keys allowed in the mapping at `loc` (for did-you-mean hints)."""
    model: Any = Playbook
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
                break
    return list(getattr(model, "model_fields", {}))


def _message(error: ErrorDetails) -> str:
    loc = [p for p in error["loc"] if isinstance(p, str | int)]
    where = _dotted(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, _fields_at(loc[:-1]), n=1)
        suffix = f" — did you mean `{hint[0]}`?" if hint else ""
        return f"unknown key `{key}`{suffix}"
    if kind == "missing":
        return f"`{where}`: required key is missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        allowed = ", ".join(part.strip(" '") for part in re.split(r",| or ", str(expected)))
        return f"`{where}`: {error['input']!r} is not one of {allowed}"
    if kind.startswith("url"):
        return f"`{where}`: {error['input']!r} is not a web address; write it in full, https://…"
    text = error["msg"].removeprefix("Value error, ")
    return f"`{where}`: {text}"


def _validation_problems(path: str, marked: Marked, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        mark = marked.mark_for(loc, key=error["type"] == "extra_forbidden")
        problems.append(Problem(path, mark.line, mark.col, _message(error)))
    return problems


def parse_playbook(text: str, path: str = "<playbook>") -> Playbook:
    """Validate one playbook's YAML text; raise `PlaybookError` listing every problem."""
    try:
        marked = load_marked(text)
    except YamlError as exc:
        raise PlaybookError([Problem(path, exc.mark.line, exc.mark.col, exc.message)]) from None
    problems = [
        Problem(path, m.line, m.col, f"duplicate key `{_dotted(p)}`")
        for p, m in marked.duplicate_keys
    ]
    if not isinstance(marked.data, dict):
        problems.append(Problem(path, 1, 1, "a playbook is a mapping of keys, starting `name:`"))
        raise PlaybookError(problems)
    try:
        playbook = Playbook.model_validate(marked.data)
    except ValidationError as exc:
        problems.extend(_validation_problems(path, marked, exc))
        raise PlaybookError(sorted(problems, key=lambda p: (p.line, p.col))) from None
    if problems:
        raise PlaybookError(problems)
    return playbook


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their `*.yaml`/`*.yml` files, sorted; keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            found.append(path)
    return found


def load_playbooks(paths: Iterable[Path]) -> list[Playbook]:
    """Load and validate every playbook; raise one `PlaybookError` listing all problems."""
    playbooks: list[Playbook] = []
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    for file in playbook_files(paths):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), 1, 1, f"cannot read: {exc}"))
            continue
        try:
            playbook = parse_playbook(text, str(file))
        except PlaybookError as exc:
            problems.extend(exc.problems)
            continue
        if playbook.name in first_seen:
            mark = load_marked(text).mark_for(("name",))
            problems.append(
                Problem(
                    str(file),
                    mark.line,
                    mark.col,
                    f"`name`: {playbook.name!r} is already used by {first_seen[playbook.name]}",
                )
            )
            continue
        first_seen[playbook.name] = str(file)
        playbooks.append(playbook)
    if problems:
        raise PlaybookError(problems)
    return playbooks
