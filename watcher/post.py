"""The normalised post every source produces, and the NDJSON posts format.

One JSON object per line. Required: `id`, `author`, `text` (strings) and `created_at`
(RFC 3339, or epoch seconds). Optional: `source`, `url`, `lang`, `reshare_of`, `reply_to`,
`author_followers` (int), `author_created_at` (when the account was made, RFC 3339 or epoch
seconds), `hashtags` (list of strings). Unknown fields are ignored.

Field sizes are capped at decode, so memory is bounded by size and not only by count: an
`id` over `MAX_ID` or an `author` over `MAX_AUTHOR` characters makes the post malformed (no
platform issues such ids or names), and a `text` over `MAX_TEXT` characters is cut there
(the longest posts any feed allows are Reddit's 40,000).

`handle_key` is how an author is compared with a playbook's `own_accounts`.
"""

from __future__ import annotations

import codecs
import operator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson

from watcher.errors import GroundswellError

#: Posts claiming a time outside this range are malformed rather than early or late.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
#: Caps on field sizes, in characters (see the module docstring).
MAX_ID = 1_000
MAX_AUTHOR = 500
MAX_TEXT = 40_000


class PostError(GroundswellError, ValueError):
    """A post line that cannot be used; the message says which field and why."""

    what = "post"


@dataclass(frozen=True, slots=True)
class Post:
    """A public post, normalised. `created_at` is timezone-aware UTC."""

    id: str
    author: str
    text: str
    created_at: datetime
    source: str = ""
    url: str = ""
    lang: str = ""
    reshare_of: str = ""
    reply_to: str = ""
    author_followers: int | None = None
    hashtags: tuple[str, ...] = ()
    #: When the author's account was made (epoch seconds), if the source says: the brief
    #: never names a brand-new account.
    author_created_at: float | None = None

    @property
    def timestamp(self) -> float:
        return self.created_at.timestamp()

    def __reduce__(self) -> tuple[type[Post], tuple[Any, ...]]:
        """Pickle as a call of the constructor with the fields, in one C-level attribute
        read: a checkpoint holds up to 2,000 example posts a bucket, and the state a frozen
        dataclass pickles by default cost ~2.9 µs a post to write against ~1.1 µs this way
        (it was most of a cluster worker's checkpoint at 1,000 playbooks). Checkpoints
        written the old way still load: the dataclass keeps its `__setstate__`."""
        return (Post, _post_fields(self))

    def to_json(self) -> dict[str, Any]:
        """The post as one line of the posts NDJSON format (empty fields left out)."""
        out: dict[str, Any] = {
            "id": self.id,
            "author": self.author,
            "text": self.text,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }
        for key in ("source", "url", "lang", "reshare_of", "reply_to"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.author_followers is not None:
            out["author_followers"] = self.author_followers
        if self.hashtags:
            out["hashtags"] = list(self.hashtags)
        if self.author_created_at is not None:
            joined = datetime.fromtimestamp(self.author_created_at, tz=UTC)
            out["author_created_at"] = joined.isoformat().replace("+00:00", "Z")
        return out


_post_fields = operator.attrgetter(*(f.name for f in fields(Post)))


def handle_key(author: str) -> str:
    """An account handle as it is compared: case folded, without a leading `@`.

    >>> handle_key("@NGO@Example.org")
    'ngo@example.org'
    """
    return author.lower().lstrip("@")


def parse_timestamp(value: object) -> float:
    """Epoch seconds from an RFC 3339 string or a number; naive times are taken as UTC.

    >>> parse_timestamp("2009-10-12T20:31:00Z")
    1255379460.0
    >>> parse_timestamp(1255379460)
    1255379460.0
    """
    if isinstance(value, bool):
        raise PostError("`created_at` must be an RFC 3339 string or epoch seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise PostError(f"`created_at` {value[:40]!r} is not an RFC 3339 time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    else:
        raise PostError("`created_at` must be an RFC 3339 string or epoch seconds")
    if not EARLIEST <= seconds < LATEST:
        raise PostError(f"`created_at` {value!r} is outside 2000–2100")
    return seconds


def check_sizes(post_id: str, author: str) -> None:
    """Raise `PostError` when the id or the author is longer than any platform's."""
    if len(post_id) > MAX_ID:
        raise PostError(f"`id` is {len(post_id):,} characters; at most {MAX_ID:,} are allowed")
    if len(author) > MAX_AUTHOR:
        raise PostError(
            f"`author` is {len(author):,} characters; at most {MAX_AUTHOR:,} are allowed"
        )


def _optional_str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PostError(f"`{key}` must be a string")
    return value


def post_from_json(raw: object, *, default_source: str = "") -> Post:
    """Validate one decoded JSON object as a `Post`; raise `PostError` saying what is wrong."""
    if not isinstance(raw, dict):
        raise PostError("a post must be a JSON object")
    for key in ("id", "author", "text"):
        if not isinstance(raw.get(key), str):
            raise PostError(f"`{key}` is required and must be a string")
    check_sizes(raw["id"], raw["author"])
    if "created_at" not in raw:
        raise PostError("`created_at` is required")
    seconds = parse_timestamp(raw["created_at"])
    followers = raw.get("author_followers")
    if followers is not None and (not isinstance(followers, int) or isinstance(followers, bool)):
        raise PostError("`author_followers` must be an integer")
    hashtags = raw.get("hashtags") or ()
    if not isinstance(hashtags, list | tuple) or not all(isinstance(h, str) for h in hashtags):
        raise PostError("`hashtags` must be a list of strings")
    joined = raw.get("author_created_at")
    try:
        author_created_at = None if joined is None else parse_timestamp(joined)
    except PostError as exc:
        raise PostError(str(exc).replace("`created_at`", "`author_created_at`", 1)) from None
    return Post(
        id=raw["id"],
        author=raw["author"],
        text=raw["text"][:MAX_TEXT],
        created_at=datetime.fromtimestamp(seconds, tz=UTC),
        source=_optional_str(raw, "source") or default_source,
        url=_optional_str(raw, "url"),
        lang=_optional_str(raw, "lang"),
        reshare_of=_optional_str(raw, "reshare_of"),
        reply_to=_optional_str(raw, "reply_to"),
        author_followers=followers,
        hashtags=tuple(hashtags),
        author_created_at=author_created_at,
    )


def parse_post_line(line: bytes | str, *, default_source: str = "") -> Post:
    """Decode and validate one NDJSON line (a UTF-8 byte-order mark before it is ignored)."""
    if isinstance(line, bytes):
        line = line.removeprefix(codecs.BOM_UTF8)
    else:
        line = line.removeprefix("\ufeff")
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise PostError(f"not JSON: {exc}") from None
    except RecursionError:  # nested past what the decoder will follow
        raise PostError("not JSON: nested too deep") from None
    return post_from_json(raw, default_source=default_source)


def dump_post(post: Post) -> bytes:
    """One NDJSON line, newline included."""
    return orjson.dumps(post.to_json()) + b"\n"


class _Line(msgspec.Struct):
    """A posts-NDJSON line as typed as the format is; unknown fields are ignored."""

    id: str
    author: str
    text: str
    created_at: str | int | float
    source: str | None = None
    url: str | None = None
    lang: str | None = None
    reshare_of: str | None = None
    reply_to: str | None = None
    author_followers: int | None = None
    hashtags: list[str] | None = None
    author_created_at: str | int | float | None = None


_LINES = msgspec.json.Decoder(_Line)


def posts_from_ndjson(body: bytes, *, default_source: str = "") -> list[Post] | None:
    """Every post of an NDJSON body, decoded in one call; None if any line is not valid.

    The fast path for batches that are wholly well formed (the usual case); on None the
    caller parses line by line with `parse_post_line`, which says what is wrong where.

    >>> [p.id for p in posts_from_ndjson(b'{"id": "1", "author": "a", "text": "t", '
    ...                                   b'"created_at": 1255379460}\\n\\n')]
    ['1']
    >>> posts_from_ndjson(b'{"id": 1}\\n') is None
    True
    """
    try:
        lines = _LINES.decode_lines(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None  # (msgspec raises RecursionError on a field nested ~1,000 deep)
    posts = []
    for line in lines:
        if len(line.id) > MAX_ID or len(line.author) > MAX_AUTHOR:
            return None  # the line-by-line path says which
        try:
            seconds = parse_timestamp(line.created_at)
            joined = line.author_created_at
            author_created_at = None if joined is None else parse_timestamp(joined)
        except PostError:
            return None
        posts.append(
            Post(
                id=line.id,
                author=line.author,
                text=line.text[:MAX_TEXT],
                created_at=datetime.fromtimestamp(seconds, tz=UTC),
                source=line.source or default_source,
                url=line.url or "",
                lang=line.lang or "",
                reshare_of=line.reshare_of or "",
                reply_to=line.reply_to or "",
                author_followers=line.author_followers,
                hashtags=tuple(line.hashtags or ()),
                author_created_at=author_created_at,
            )
        )
    return posts
