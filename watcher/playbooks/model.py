"""Playbooks: the YAML a campaign team writes, validated into frozen, closed models.

Each section is declared by the package that reads it: `watch` here (the matcher lives in
`watcher`), `detect` in `detectors`, `respond` in `responders`. Problems come back as
`path:line:col: error: message` or `… warning: …` (`watcher.playbooks.findings` says which
is which), one per problem, never as a traceback.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from detectors.params import DetectParams
from responders.params import RespondParams
from watcher.pipeline.matcher import Matcher
from watcher.playbooks.explain import dotted, explain
from watcher.playbooks.findings import Checked, PlaybookError, Problem
from watcher.playbooks.lint import (
    Finding,
    bad_urls,
    idle_groups,
    redundant_terms,
    silencing_excludes,
)
from watcher.playbooks.yamlmarks import MAX_BYTES, TOO_BIG, Marked, YamlError, load_marked

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}$")


def _term(text: str) -> str:
    term = " ".join(text.split())
    if not term.strip("#"):
        raise ValueError("empty term")
    if not any(c.isalnum() for c in term):
        raise ValueError(f"{text!r} has no letters or digits; a term must contain a word")
    if term.startswith("#") and " " in term:
        raise ValueError(
            f"{text!r}: a #hashtag cannot contain spaces; write {term.replace(' ', '')!r}, "
            f"or {term.lstrip('#')!r} without the # to match the words"
        )
    return term


def _language(code: str) -> str:
    main, dash, _ = code.replace("_", "-").partition("-")
    if dash and _LANGUAGE.match(main):
        raise ValueError(
            f"{code!r}: write the language only, {main.lower()!r}; posts in every "
            f"variety of it ({code}, ...) count"
        )
    if not _LANGUAGE.match(code):
        raise ValueError(
            f"{code!r} is not a language code; use two- or three-letter ISO 639 codes "
            "such as en, fr, es, cy"
        )
    return code.lower()


def _domain(text: str) -> str:
    domain = text.strip().lower()
    if "/" in domain or " " in domain or "." not in domain:
        raise ValueError(
            f"{text!r} is not a web domain; write just the domain, like 'example.org' "
            "(no https://, no path)"
        )
    return domain


Term = Annotated[str, AfterValidator(_term), Field(min_length=1)]
Language = Annotated[
    str, AfterValidator(_language), Field(json_schema_extra={"pattern": _LANGUAGE.pattern})
]


class WatchParams(BaseModel):
    """What counts as talk about this issue area, and what is the organisation's own voice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: tuple[Term, ...] = Field(
        min_length=1,
        description=(
            "Words, phrases and #hashtags of the issue area; a post counts when it mentions "
            "any one of them. A term matches where it stands in a post as whole words, "
            "ignoring case and accents: `gag order` matches 'the Gag Order' but not "
            "'gag-order' or 'gagging order'. A plain word also matches its #hashtag "
            "(`trafigura` matches '#Trafigura'); a #hashtag term matches only the tag."
        ),
    )
    all_of: tuple[tuple[Term, ...], ...] = Field(
        default=(),
        description=(
            "Optional groups of terms that narrow the playbook: a post counts only if it "
            "also mentions at least one term from every group. Example: "
            "`[[tower, block, estate]]` keeps only eviction posts that mention a building."
        ),
    )
    exclude: tuple[Term, ...] = Field(
        default=(),
        description=(
            "A post that mentions any of these does not count, matched the same way as "
            "terms. Use phrases, so an exclude never swallows a term (`sour candy`, not "
            "`candy` when watching `toxic waste`)."
        ),
    )
    languages: tuple[Language, ...] = Field(
        default=(),
        description=(
            "Optional language codes (ISO 639, e.g. en, fr, cy). When set, a post counts "
            "only if its language is one of these; posts that do not say their language "
            "still count. Empty means every language."
        ),
    )
    own_accounts: tuple[str, ...] = Field(
        default=(),
        description="The organisation's accounts: their posts and reshares of them do not count.",
    )
    own_domains: tuple[Annotated[str, AfterValidator(_domain)], ...] = Field(
        default=(),
        description=(
            "The organisation's web domains, like `example.org`: posts linking to them "
            "do not count."
        ),
    )

    @field_validator("all_of")
    @classmethod
    def _no_empty_groups(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in groups:
            if not group:
                raise ValueError("an all_of group needs at least one term")
        return groups


class Playbook(BaseModel):
    """One issue area: what to watch, how to detect, and how to respond."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        description=(
            "Short unique id, used in alerts and metrics: lower-case letters, digits, '-' "
            "and '_'. No two playbooks may share one."
        ),
        json_schema_extra={"pattern": _NAME.pattern},
    )
    description: str = Field(default="", description="What this issue area is, for people.")
    watch: WatchParams = Field(
        description="What talk to watch for: terms, narrowing groups, excludes, languages, "
        "and the organisation's own accounts and domains."
    )
    detect: DetectParams = Field(
        default_factory=DetectParams,
        description="How readily a surge in that talk raises an alert (defaults suit most).",
    )
    respond: RespondParams = Field(
        default_factory=RespondParams,
        description="What the team gets with an alert: resources, voices, offers, and where.",
    )

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(
                f"{name!r} is not a valid name: use lower-case letters, digits, '-' and '_'"
            )
        return name


def _validation_problems(path: str, marked: Marked, exc: ValidationError) -> list[Problem]:
    problems = []
    for loc, is_key, message in explain(exc, Playbook):
        mark = marked.mark_for(loc, key=is_key)
        problems.append(Problem(path, mark.line, mark.col, message))
    return problems


def check_playbook(text: str, path: str = "<playbook>") -> tuple[Playbook | None, list[Problem]]:
    """Validate one playbook's YAML text: the playbook (None when it has an error) and every
    error and warning found, in the order they appear in the file."""
    try:
        marked = load_marked(text)
    except YamlError as exc:
        return None, [Problem(path, exc.mark.line, exc.mark.col, exc.message)]
    problems = [
        Problem(path, m.line, m.col, f"duplicate key `{dotted(p)}`")
        for p, m in marked.duplicate_keys
    ]
    if not isinstance(marked.data, dict):
        problems.append(Problem(path, 1, 1, "a playbook is a mapping of keys, starting `name:`"))
        return None, problems
    playbook: Playbook | None = None
    try:
        playbook = Playbook.model_validate(marked.data)
    except ValidationError as exc:
        problems.extend(_validation_problems(path, marked, exc))
        reported = {tuple(e["loc"]) for e in exc.errors()}
        findings = [f for f in _lint_sections(marked.data) if f.loc not in reported]
    else:
        findings = lint(playbook, marked.data)
    for finding in findings:
        mark = marked.mark_for(finding.loc)
        problems.append(Problem(path, mark.line, mark.col, finding.message, finding.severity))
    if any(p.severity == "error" for p in problems):
        playbook = None
    return playbook, sorted(problems, key=lambda p: (p.line, p.col))


def parse_playbook(text: str, path: str = "<playbook>", *, strict: bool = False) -> Playbook:
    """Validate one playbook's YAML text; raise `PlaybookError` listing every problem when it
    has an error (with `strict`, also when it has only warnings)."""
    playbook, problems = check_playbook(text, path)
    if playbook is None or (strict and problems):
        raise PlaybookError(problems)
    return playbook


def lint(playbook: Playbook, data: Any = None) -> list[Finding]:
    """Mistakes the schema cannot see: redundant terms, silencing excludes, broken URLs.

    `data` is the playbook as written (before validation), so URLs are checked as typed.
    """
    found = _lint_watch(playbook.watch)
    if data is not None:
        found.extend(bad_urls(data))
    return found


def _lint_watch(watch: WatchParams) -> list[Finding]:
    found = list(redundant_terms(watch.terms, ("watch", "terms")))
    for index, group in enumerate(watch.all_of):
        found.extend(redundant_terms(group, ("watch", "all_of", index)))
    found.extend(redundant_terms(watch.exclude, ("watch", "exclude")))
    found.extend(silencing_excludes(watch.terms, watch.all_of, watch.exclude))
    found.extend(idle_groups(watch.terms, watch.all_of))
    return found


def _lint_sections(data: dict[str, Any]) -> list[Finding]:
    """Lint the sections that are valid on their own, when the playbook as a whole is not."""
    found: list[Finding] = []
    with contextlib.suppress(ValidationError):
        found.extend(_lint_watch(WatchParams.model_validate(data.get("watch"))))
    found.extend(bad_urls(data))
    return found


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their `*.yaml`/`*.yml` files, sorted; keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            found.append(path)
    return found


def _read_capped(file: Path) -> str | None:
    """The file's text, or None when it is over `MAX_BYTES`. Reads at most one byte past the
    limit, so a symlink to /dev/zero or a huge file is refused without being read in full."""
    with file.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return None
    # The same universal-newline translation `Path.read_text` did, so marks do not move.
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def playbook_texts(paths: Iterable[Path]) -> list[tuple[str, str | Problem]]:
    """Each playbook file's text, or the problem reading it (read once, then checked)."""
    out: list[tuple[str, str | Problem]] = []
    for file in playbook_files(paths):
        try:
            text = _read_capped(file)
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            out.append((str(file), Problem(str(file), 1, 1, f"cannot read this file: {why}")))
            continue
        out.append((str(file), Problem(str(file), 1, 1, TOO_BIG) if text is None else text))
    return out


def check_playbooks(paths: Iterable[Path]) -> Checked:
    """`check_texts` of the playbook files' texts."""
    return check_texts(playbook_texts(paths))


def check_texts(texts: Iterable[tuple[str, str | Problem]]) -> Checked:
    """Check each file's text (or its read problem); a name an earlier file used is an error."""
    playbooks: list[Playbook] = []
    problems: list[Problem] = []
    skipped: list[str] = []
    files: list[str] = []
    first_seen: dict[str, str] = {}
    for file, text in texts:
        if isinstance(text, Problem):
            problems.append(text)
            skipped.append(file)
            continue
        playbook, found = check_playbook(text, file)
        if playbook is not None and playbook.name in first_seen:
            mark = load_marked(text).mark_for(("name",))
            used = f"`name`: {playbook.name!r} is already used by {first_seen[playbook.name]}"
            found = sorted([*found, Problem(file, mark.line, mark.col, used)],
                           key=lambda p: (p.line, p.col))  # fmt: skip
            playbook = None
        problems.extend(found)
        if playbook is None:
            skipped.append(file)
            continue
        first_seen[playbook.name] = file
        playbooks.append(playbook)
        files.append(file)
    return Checked(tuple(playbooks), tuple(problems), tuple(skipped), tuple(files))


def load_playbooks(paths: Iterable[Path], *, strict: bool = False) -> list[Playbook]:
    """Load every playbook, all or nothing: raise one `PlaybookError` listing every problem
    when any file has an error (with `strict`, also when any has a warning)."""
    checked = check_playbooks(paths)
    if checked.errors or (strict and checked.problems):
        raise PlaybookError(checked.problems)
    return list(checked.playbooks)


def build_matcher(playbooks: Sequence[Playbook]) -> Matcher:
    """One matcher for every playbook's terms, conditions and excludes, indexed as given."""
    watches = [p.watch for p in playbooks]
    return Matcher(
        [w.terms for w in watches],
        [w.exclude for w in watches],
        all_of=[w.all_of for w in watches],
        languages=[w.languages for w in watches],
    )
