"""Safe YAML loading that remembers where every key and value came from.

PyYAML's `SafeLoader` builds plain data only (no object-constructing tags); composing the node
graph first gives each key and value a line and column, so validation errors can point at the
exact spot in the file. Aliases are expanded lazily by PyYAML, so a billion-laughs document is
cheap to compose; we count what it *would* expand to and refuse it before anything is built.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

from watcher.errors import GroundswellError

Path = tuple[str | int, ...]

_TOO_DEEP = "YAML syntax: nested too deeply; a playbook needs only a few levels"
#: Deepest `[`/`{` nesting allowed. PyYAML's scanner looks ahead through every open
#: bracket in quadratic time, so a deep one is refused before parsing starts.
MAX_FLOW_DEPTH = 50
#: A playbook is a few kilobytes; anything this big is not one.
MAX_BYTES = 1_000_000
TOO_BIG = f"file is over 1 MB ({MAX_BYTES:,} bytes); a playbook is a few kilobytes"
_BRACKETS = re.compile(r"[\[\]{}]")
#: Nodes a playbook may expand to. Real playbooks have a few hundred; an alias bomb has billions.
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    col: int  # 1-based


@dataclass(slots=True)
class Marked:
    """Plain data from a YAML document plus the position of every key and value in it."""

    data: Any
    key_marks: dict[Path, Mark] = field(default_factory=dict)
    value_marks: dict[Path, Mark] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, Mark]] = field(default_factory=list)

    def mark_for(self, path: Path, *, key: bool = False) -> Mark:
        """The most precise mark known for `path`, falling back to its nearest parent."""
        marks = self.key_marks if key else self.value_marks
        probe = path
        while probe:
            if probe in marks:
                return marks[probe]
            if probe in self.value_marks:
                return self.value_marks[probe]
            probe = probe[:-1]
        return self.value_marks.get((), Mark(1, 1))


class YamlError(GroundswellError):
    """The text is not a safe, well-formed YAML document."""

    what = "YAML"

    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


_IN_PROGRESS = -1


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    # Shared (aliased) nodes are counted once per reference, which is what expansion costs.
    known = memo.get(id(node))
    if known == _IN_PROGRESS:
        raise YamlError(
            "an alias `*name` sits inside the list or mapping it names, so it never ends; "
            "write the values out instead",
            _mark(node),
        )
    if known is not None:
        return known
    memo[id(node)] = _IN_PROGRESS
    size = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            size += _expanded_size(child, memo)
            if size > MAX_EXPANDED_NODES:
                break
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            size += _expanded_size(key, memo) + _expanded_size(value, memo)
            if size > MAX_EXPANDED_NODES:
                break
    memo[id(node)] = size
    return size


#: PyYAML's wording → plain words; the first pattern found in the message wins.
_PLAIN = (
    ("expected <block end>", "this line is not indented like the lines around it; line up "
     "the keys of one section under each other, using spaces"),
    ("found character '\\t'", "a tab character; indent with spaces only"),
    ("mapping values are not allowed", "unexpected `:`; indent this line under its key, or "
     "put text that contains `: ` in quotes"),
    ("while parsing a flow sequence", "a `[` list is not closed with `]`, or its items are "
     "not separated by commas"),
    ("while parsing a flow mapping", "a `{` mapping is not closed with `}`, or its items are "
     "not separated by commas"),
    ("while scanning a quoted scalar", "a quoted value is never closed; add the closing quote"),
    ("found undefined alias", "an alias `*name` refers to no anchor `&name` above it"),
    ("expected a single document", "a playbook file holds one document; remove the `---` line"),
)  # fmt: skip


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _culprit(root: yaml.Node, sizes: dict[int, int]) -> yaml.Node:
    """The innermost node that alone expands past the limit: where the bomb is defined."""
    node, seen = root, {id(root)}
    while True:
        big = [c for c in _children(node) if sizes.get(id(c), 0) > MAX_EXPANDED_NODES]
        if not big or id(big[0]) in seen:  # aliases can loop back
            return node
        node = big[0]
        seen.add(id(node))


def _runaway_quote(text: str, exc: yaml.MarkedYAMLError) -> YamlError | None:
    """In a `[...]` or `{...}` that fails to parse, a quoted value that runs over a line end:
    its closing quote is missing, and the next quote, lines below, closed it instead. PyYAML
    reports where that swallowed text stopped making sense, far below (even at the end of
    the file); the mistake is where the quote opened."""
    start, end = exc.context_mark, exc.problem_mark
    if start is None or end is None or not (exc.context or "").startswith("while parsing a flow"):
        return None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= end.index:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in {"'", '"'}
                and token.start_mark.index > start.index
                and token.end_mark.line > token.start_mark.line
            ):
                return YamlError(
                    "YAML syntax: a quoted value is never closed on its line, so it runs on "
                    f"to the next quote (line {token.end_mark.line + 1}); add the closing quote",
                    _mark_of(token.start_mark),
                )
    except yaml.YAMLError:
        pass  # the scan stops at the same error; what it read so far has been checked
    return None


def _mark_of(mark: yaml.Mark) -> Mark:
    return Mark(mark.line + 1, mark.column + 1)


def _problem(exc: yaml.MarkedYAMLError, text: str = "") -> YamlError:
    if text and (runaway := _runaway_quote(text, exc)) is not None:
        return runaway
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "malformed YAML"
    if exc.context and exc.problem:
        problem = f"{exc.context}: {problem}"
    for pattern, plain in _PLAIN:
        if pattern in problem:
            if "quoted scalar" in pattern and exc.context_mark:
                mark = exc.context_mark  # point at the opening quote, not the end of the file
            problem = plain
            break
    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
    return YamlError(f"YAML syntax: {problem}", where)


def load_marked(text: str) -> Marked:
    """Parse one YAML document safely, recording the position of each key and value.

    >>> m = load_marked("name: demo\\nwatch:\\n  terms: [a, b]\\n")
    >>> m.data["watch"]["terms"]
    ['a', 'b']
    >>> m.value_marks[("watch", "terms", 1)]
    Mark(line=3, col=14)
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlError(TOO_BIG, Mark(1, 1))
    _check_flow_depth(text)
    loader, root = _compose_fast(text)
    if loader is None:
        try:
            loader = yaml.SafeLoader(text)
        except yaml.reader.ReaderError as exc:
            raise _reader_problem(text, exc) from None
    try:
        if root is None:
            try:
                root = loader.get_single_node()
            except yaml.MarkedYAMLError as exc:
                raise _problem(exc, text) from None
            except yaml.reader.ReaderError as exc:
                raise _reader_problem(text, exc) from None
        if root is None:
            return Marked(data=None)
        sizes: dict[int, int] = {}
        if _expanded_size(root, sizes) > MAX_EXPANDED_NODES:
            raise YamlError(
                f"this expands to more than {MAX_EXPANDED_NODES:,} values, through aliases "
                "(`*name`) if it is short: an alias bomb? Write the values out instead",
                _mark(_culprit(root, sizes)),
            )
        marked = Marked(data=None)
        marked.data = _build(loader, root, (), marked)
        return marked
    except RecursionError:
        raise YamlError(_TOO_DEEP, Mark(1, 1)) from None
    finally:
        loader.dispose()


def _compose_fast(text: str) -> tuple[yaml.SafeLoader | None, yaml.Node | None]:
    """Compose with libyaml (about 10× faster: 1,000 playbooks load in a fraction of the
    time) when PyYAML has it; on any problem, return nothing so the pure-Python parser reads
    the text again and explains the problem in its own words."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return None, None
    loader = fast(text)
    try:
        root = loader.get_single_node()
    except Exception:
        loader.dispose()
        return None, None
    if root is None:
        loader.dispose()
        return None, None
    return loader, root


def _position(text: str, index: int) -> Mark:
    line = text.count("\n", 0, index) + 1
    return Mark(line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _reader_problem(text: str, exc: yaml.reader.ReaderError) -> YamlError:
    char = exc.character if isinstance(exc.character, int) else 0
    return YamlError(
        f"YAML syntax: a control character (U+{char:04X}) that YAML does not allow; delete "
        "it (it often comes with copy and paste)",
        _position(text, exc.position),
    )


def _check_flow_depth(text: str) -> None:
    # Brackets inside quoted text count too; they are balanced in any real playbook.
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_FLOW_DEPTH:
            raise YamlError(_TOO_DEEP, _position(text, match.start()))


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, out: Marked) -> Any:
    out.value_marks.setdefault(path, _mark(node))
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTIONS:
        raise YamlError(_unsafe_tag(node.tag), _mark(node))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<` merge keys the safe way
        result: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(loader, key_node)
            if not isinstance(key, str | int):
                raise YamlError("keys must be plain words", _mark(key_node))
            child = (*path, key)
            if key in result:
                out.duplicate_keys.append((child, _mark(key_node)))
            out.key_marks[child] = _mark(key_node)
            result[key] = _build(loader, value_node, child, out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), out) for i, item in enumerate(node.value)]
    return _scalar(loader, node)


_PLAIN_COLLECTIONS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _unsafe_tag(tag: str) -> str:
    return f"unsafe or unknown tag {tag!r}: playbooks hold plain data only"


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise YamlError("keys must be plain words, not lists or mappings", _mark(node))
    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        tag = node.tag
        if tag.startswith("tag:yaml.org,2002:python/") or not tag.startswith("tag:yaml.org"):
            raise YamlError(_unsafe_tag(tag), _mark(node)) from None
        raise _problem(exc) from None
