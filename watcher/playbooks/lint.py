"""Checks on a playbook that passed its schema, for mistakes a schema cannot see.

Each `Finding` is a location, a message and a severity; `watcher.playbooks.model` turns the
location into the line and column of the offending value. Every check here is a *warning*:
the playbook still means one definite thing and runs as written, only probably not what was
meant (a covered or repeated term adds nothing, an idle `all_of` group narrows nothing, an
exclude that removes every match leaves a playbook that never counts, a broken or plain-http
link spoils the brief), so it must not stop monitoring. The errors are the schema's own
refusals, told by `explain`. The term rules follow the matching contract in
`watcher.pipeline.matcher`: one term *covers* another when every post that mentions the
second also mentions the first, which `covers` decides exactly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from watcher.pipeline.matcher import covers, covers_normalised, normalise
from watcher.playbooks.findings import Severity

Loc = tuple[str | int, ...]


class Finding(NamedTuple):
    """One lint finding: where, what, and how bad (see the module docstring)."""

    loc: Loc
    message: str
    severity: Severity = "warning"


_SCHEME = re.compile(r"^(https?)://([^/?#]*)", re.IGNORECASE)
_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")
_EXAMPLE_URL = "write it in full, like https://example.org/page"


def _name(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def redundant_terms(terms: Sequence[str], where: Loc) -> Iterator[Finding]:
    """Terms listed twice (after case and accent folding), or covered by a shorter term."""
    keys = [normalise(term) for term in terms]
    first: dict[str, int] = {}
    for index, (term, key) in enumerate(zip(terms, keys, strict=True)):
        loc = (*where, index)
        if key in first:
            other = first[key]
            same = "" if terms[other] == term else " (case and accents are ignored)"
            yield Finding(
                loc,
                f"`{_name(loc)}`: {term!r} repeats `{_name((*where, other))}` "
                f"{terms[other]!r}{same}; remove one",
            )
            continue
        first[key] = index
        for other, general in enumerate(terms):
            # `in` first: a cheap C test that rules out almost every pair of a long term list
            if keys[other] == key or keys[other] not in key:
                continue
            if not covers_normalised(keys[other], key):
                continue
            why = (
                "a plain word also matches its #hashtag"
                if key.startswith("#") and key[1:] == keys[other]
                else f"every post that mentions {term!r} also mentions {general!r}"
            )
            yield Finding(
                loc,
                f"`{_name(loc)}`: {term!r} is already covered by `{_name((*where, other))}` "
                f"{general!r} ({why}), so it adds nothing; remove it",
            )
            break


def silencing_excludes(
    terms: Sequence[str], all_of: Sequence[Sequence[str]], exclude: Sequence[str]
) -> Iterator[Finding]:
    """Exclude terms that remove every post a term (or the whole playbook) could count."""
    for index, unwanted in enumerate(exclude):
        loc = ("watch", "exclude", index)
        silenced = [i for i, term in enumerate(terms) if covers(unwanted, term)]
        blocked = [g for g, group in enumerate(all_of) if all(covers(unwanted, t) for t in group)]
        advice = "use a longer phrase that only the unwanted posts contain"
        if len(silenced) == len(terms) or blocked:
            reason = (
                "every term contains it"
                if len(silenced) == len(terms)
                else f"every term of `watch.all_of[{blocked[0]}]` contains it"
            )
            yield Finding(
                loc,
                f"`{_name(loc)}`: {unwanted!r} removes every match ({reason}), so this "
                f"playbook could never count a post; {advice}",
            )
        elif silenced:
            named = ", ".join(f"`watch.terms[{i}]` {terms[i]!r}" for i in silenced)
            verb = "that term" if len(silenced) == 1 else "those terms"
            yield Finding(
                loc,
                f"`{_name(loc)}`: {unwanted!r} removes every post that mentions {named}, "
                f"so {verb} can never count; {advice}",
            )


def idle_groups(terms: Sequence[str], all_of: Sequence[Sequence[str]]) -> Iterator[Finding]:
    """`all_of` groups that every counted post satisfies anyway, so they narrow nothing."""
    for index, group in enumerate(all_of):
        if all(any(covers(member, term) for member in group) for term in terms):
            loc = ("watch", "all_of", index)
            yield Finding(
                loc,
                f"`{_name(loc)}` narrows nothing: every post that mentions one of the terms "
                "already mentions a term of this group; remove the group, or the terms it "
                "shares with `watch.terms`",
            )


def url_problem(raw: str) -> str | None:
    """Why `raw` is not a usable web address, or None when it is."""
    if any(c.isspace() for c in raw):
        return "it contains a space"
    match = _SCHEME.match(raw)
    if match is None:
        return "it must start with https:// (or http://)"
    host = match.group(2).rpartition("@")[2].lower()
    if host.startswith("["):
        return None  # an IPv6 literal; the schema has parsed it already
    host = host.partition(":")[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    if host == "localhost":
        return None
    labels = host.split(".")
    if len(labels) < 2:
        return f"the site {host!r} has no domain ending such as .org"
    if not all(_LABEL.match(label) for label in labels):
        return f"{host!r} is not a valid site name"
    return None


def _plain_http(raw: str) -> bool:
    """An `http://` address on the internet; a local test server (localhost, an IP) is fine."""
    match = _SCHEME.match(raw)
    if match is None or match.group(1).lower() != "http":
        return False
    host = match.group(2).rpartition("@")[2].lower()
    if host.startswith("["):
        return False
    host = host.partition(":")[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host != "localhost"
    return False


def _url_values(data: Any, loc: Loc) -> Iterator[tuple[Loc, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "url":
                yield (*loc, key), value
            else:
                yield from _url_values(value, (*loc, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _url_values(item, (*loc, index))


def bad_urls(data: Any) -> Iterator[Finding]:
    """Every `url:` the playbook holds, checked as written, for mistakes the schema lets by."""
    for loc, raw in _url_values(data, ()):
        if isinstance(raw, str) and (reason := url_problem(raw)) is not None:
            yield Finding(
                loc, f"`{_name(loc)}`: {raw!r} is not a web address: {reason}; {_EXAMPLE_URL}"
            )
        elif isinstance(raw, str) and _plain_http(raw):
            yield Finding(
                loc,
                f"`{_name(loc)}`: {raw!r} is plain http: the link travels unencrypted and "
                "browsers warn about it; write https:// if the site has it",
            )
