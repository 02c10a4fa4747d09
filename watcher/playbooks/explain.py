"""Pydantic validation errors, told in plain words for the people who edit playbooks.

`explain` turns each error into `(location, is_key, message)`; the caller adds the file's line
and column. Messages name the thing, show the bad value and say what to do.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]


def dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Names of the keys allowed in the mapping at `loc` (for did-you-mean hints)."""
    model: Any = root
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


def _describe(value: object) -> str:
    """A YAML value as staff would recognise it in an error message."""
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return (
            f"{str(value).lower()} (YAML reads yes, no, on, off, true and false as true or "
            "false; put the value in quotes)"
        )
    if isinstance(value, dict):
        return "a mapping of keys"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _hint(word: object, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    return f" — did you mean `{close[0]}`?" if close else ""


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "tuple_type": "a list (`[a, b]`, or one `- item` per line)",
    "list_type": "a list (`[a, b]`, or one `- item` per line)",
    "model_type": "a mapping of keys (`key: value` lines indented under it)",
    "dict_type": "a mapping of keys (`key: value` lines indented under it)",
    "model_attributes_type": "a mapping of keys (`key: value` lines indented under it)",
}
_BOUNDS = {
    "greater_than": ("gt", "more than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def _message(error: ErrorDetails, root: type[BaseModel]) -> str:
    loc = [p for p in error["loc"] if isinstance(p, str | int)]
    where = dotted(loc)
    kind = error["type"]
    ctx = error.get("ctx", {})
    given = error["input"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"unknown key `{key}`{_hint(key, _fields_at(root, loc[:-1]))}"
    if kind == "missing":
        return f"`{where}`: required key is missing"
    if kind == "literal_error":
        allowed = [part.strip(" '") for part in re.split(r",| or ", str(ctx.get("expected", "")))]
        return f"`{where}`: {given!r} is not one of {', '.join(allowed)}{_hint(given, allowed)}"
    if kind.startswith("url"):
        return f"`{where}`: {given!r} is not a web address; write it in full, https://…"
    if kind in _EXPECTED:
        return f"`{where}`: expected {_EXPECTED[kind]}, got {_describe(given)}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"`{where}`: needs at least {least} {'entry' if least == 1 else 'entries'}"
    if kind == "string_too_short":
        return f"`{where}`: must not be empty"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"`{where}`: must be {words} {ctx.get(key)}, got {given!r}"
    text = error["msg"].removeprefix("Value error, ")
    return f"`{where}`: {text}"


def explain(exc: ValidationError, root: type[BaseModel]) -> list[tuple[Loc, bool, str]]:
    """One `(location, is_key, message)` per problem in `exc`, raised validating `root`."""
    found = []
    errors = exc.errors()
    inner = {tuple(e["loc"][:-1]) for e in errors if isinstance(e["loc"][-1], int)}
    for error in errors:
        if error["type"] == "too_short" and tuple(error["loc"]) in inner:
            continue  # the list is short only because an item in it is wrong; say which
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        found.append((loc, error["type"] == "extra_forbidden", _message(error, root)))
    return found
