"""The NDJSON hot path: post lines in, what matching needs out, malformed lines explained.

Replay feeds the engine hundreds of thousands of lines a second, and almost none of them
match a playbook. So a batch is decoded only as far as the engine needs before matching:
each line's text and time (the watermark needs every post's), and the ids of own accounts'
posts (so reshares of them are recognised). A full `Post` is built and validated lazily, by
`Decoded.post_at`, for the few lines in which the matcher finds a term: a line the matcher
skips cannot count for any playbook, so checking its other fields would change nothing but
the cost.

A batch of well-formed lines is read in one msgspec call that decodes only the four fields
needed here (about 0.4 µs a line against 0.6 for a full `orjson.loads`, and no Python loop
over the JSON); a batch with any malformed line takes the line-by-line path, which says what
is wrong with each. Both give the same `Decoded`, as does `from_posts` for posts a live
source has already normalised. Nothing here keeps state between batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
import orjson

from watcher.post import (
    EARLIEST,
    LATEST,
    MAX_TEXT,
    Post,
    PostError,
    check_sizes,
    handle_key,
    post_from_json,
)


class _Head(msgspec.Struct):
    """The fields of a post line the hot path reads; the rest is decoded only on a match."""

    text: str
    created_at: str | int | float
    author: str | None = None
    id: str | int | None = None


_HEADS = msgspec.json.Decoder(_Head)


def rfc3339_seconds(created: str) -> float | None:
    """Epoch seconds of an RFC 3339 time in range, or None (the validator then explains).

    The hot path's version of `parse_timestamp`: no exceptions for the caller to catch, and
    `fromisoformat` plus `timestamp` in C is all it costs (about 0.4 µs).
    """
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return None
    ts = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()
    return ts if EARLIEST <= ts < LATEST else None


@dataclass(slots=True)
class Decoded:
    """One batch of post lines, decoded as far as matching needs.

    `texts[i]` and `stamps[i]` are the i-th usable post's text and event time; `post_at(i)`
    builds and validates its `Post` (raising `PostError` if a field the hot path did not
    read is wrong). Malformed lines are left out and counted, with the last one's reason.
    """

    texts: list[str]
    stamps: list[float]
    post_at: Callable[[int], Post]
    received: int = 0  # lines that were not blank, malformed ones included
    own_ids: list[str] = field(default_factory=list)  # ids of own accounts' posts, in order
    malformed: int = 0
    last_error: str = ""

    def refuse(self, error: str) -> None:
        self.malformed += 1
        self.last_error = error


def decode_lines(
    lines: Iterable[bytes | str], *, source: str = "", own: frozenset[str] = frozenset()
) -> Decoded:
    """Decode a batch of NDJSON post lines (blank ones skipped) in one call if it is clean.

    `own` holds the own accounts' `handle_key`s whose posts' ids are wanted in `own_ids`;
    `source` is the default for posts that do not name one.
    """
    batch = lines if isinstance(lines, list) else list(lines)
    try:
        # str lines (rare: callers pass bytes) raise TypeError and take the slow path
        heads = _HEADS.decode_lines(b"\n".join(cast("list[bytes]", batch)))
    except (msgspec.DecodeError, msgspec.ValidationError, TypeError):
        return decode_one_by_one(batch, source=source, own=own)
    if len(heads) != len(batch):
        batch = [line for line in batch if line.strip()]
    clean = _all_times(heads)
    if clean is not None:  # the usual batch: every time an RFC 3339 string with its offset
        out = Decoded(
            [head.text for head in heads],
            clean,
            lambda i: post_from_json(orjson.loads(batch[i]), default_source=source),
            received=len(heads),
        )
        if own:
            out.own_ids = [
                str(head.id)
                for head in heads
                if head.author is not None and handle_key(head.author) in own
            ]
        return out
    kept: list[int] = []
    texts: list[str] = []
    stamps: list[float] = []
    out = Decoded(
        texts,
        stamps,
        lambda i: post_from_json(orjson.loads(batch[kept[i]]), default_source=source),
        received=len(heads),
    )
    own_ids = out.own_ids
    for index, head in enumerate(heads):
        created = head.created_at
        if isinstance(created, str):
            ts = rfc3339_seconds(created)
        else:
            ts = float(created) if EARLIEST <= created < LATEST else None
        if ts is None:  # the full validator says exactly what is wrong
            _explain(out, batch[index], source)
            continue
        if own and head.author is not None and handle_key(head.author) in own:
            own_ids.append(str(head.id))
        kept.append(index)
        texts.append(head.text)
        stamps.append(ts)
    return out


def _all_times(heads: list[_Head]) -> list[float] | None:
    """Every head's epoch seconds, if each `created_at` is an RFC 3339 string with an
    offset and in range; else None (the caller then goes line by line). The same
    `fromisoformat(...).timestamp()` as `rfc3339_seconds`, in two list passes rather than a
    call and a branch or three per line: 0.5 µs a line instead of 0.8."""
    fromisoformat = datetime.fromisoformat
    try:
        moments = [fromisoformat(head.created_at) for head in heads]  # type: ignore[arg-type]
    except (TypeError, ValueError):  # an epoch number, or a string it cannot read
        return None
    stamps = [moment.timestamp() for moment in moments if moment.tzinfo is not None]
    if len(stamps) != len(heads):
        return None  # a time without an offset is read as UTC, one line at a time
    if stamps and not (min(stamps) >= EARLIEST and max(stamps) < LATEST):
        return None
    return stamps


def _explain(out: Decoded, line: bytes | str, source: str) -> None:
    try:
        post_from_json(orjson.loads(line), default_source=source)
    except (orjson.JSONDecodeError, PostError) as exc:
        out.refuse(str(exc))
    else:  # unreachable for lines the fast path refused; count it rather than lose it
        out.refuse("unusable `created_at`")


def decode_one_by_one(
    lines: Iterable[bytes | str], *, source: str = "", own: frozenset[str] = frozenset()
) -> Decoded:
    """`decode_lines` one line at a time, for a batch with a malformed line (or str lines)."""
    loads = orjson.loads
    raws: list[dict[str, Any]] = []
    texts: list[str] = []
    stamps: list[float] = []
    out = Decoded(texts, stamps, lambda i: post_from_json(raws[i], default_source=source))
    received = 0
    for line in lines:
        try:
            raw = loads(line)
        except orjson.JSONDecodeError as exc:
            if line.strip():
                received += 1
                out.refuse(f"not JSON: {exc}")
            continue
        received += 1
        text = raw.get("text") if type(raw) is dict else None
        created = raw.get("created_at") if text.__class__ is str else None
        ts = rfc3339_seconds(created) if created.__class__ is str else None
        if ts is None:  # the full validator says exactly what is wrong
            try:
                ts = post_from_json(raw, default_source=source).timestamp
            except PostError as exc:
                out.refuse(str(exc))
                continue
        if own:
            author = raw.get("author")
            if author.__class__ is str and handle_key(author) in own:
                out.own_ids.append(str(raw.get("id")))
        raws.append(raw)
        texts.append(text)  # type: ignore[arg-type]  # checked: a str
        stamps.append(ts)
    out.received = received
    return out


def from_posts(posts: Sequence[Post], *, own: frozenset[str] = frozenset()) -> Decoded:
    """Already-normalised posts (the live service's path) as a batch like decoded lines.

    Every feed's parser builds its own posts, so the size caps of the posts format are
    applied here too, to the posts that match: an id or author over the cap is malformed,
    a text over it is cut (`watcher.post.MAX_TEXT`)."""
    out = Decoded([p.text for p in posts], [p.timestamp for p in posts], lambda i: _sized(posts[i]))
    out.received = len(posts)
    if own:
        out.own_ids = [p.id for p in posts if handle_key(p.author) in own]
    return out


def _sized(post: Post) -> Post:
    check_sizes(post.id, post.author)
    return post if len(post.text) <= MAX_TEXT else replace(post, text=post.text[:MAX_TEXT])
