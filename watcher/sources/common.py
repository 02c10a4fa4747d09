"""Helpers the feed parsers share: HTML to text, trusted times, small JSON accessors."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from watcher.post import EARLIEST, PostError

#: A post may claim to be this far ahead of our clock (clock skew) before it is clamped.
MAX_SKEW_S = 300.0

_BREAKS = {"br", "p", "div", "li", "blockquote"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS and self.parts:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text from sanitized HTML (Mastodon `content`); link text is kept whole.

    >>> html_to_text('<p>Gag &amp; order</p><p>see <a href="x"><span class="invisible">'
    ...              'https://</span><span class="ellipsis">ex.am/lo</span><span '
    ...              'class="invisible">ng</span></a></p>')
    'Gag & order\\nsee https://ex.am/long'
    """
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def trusted_time(seconds: float, now: float, *, what: str = "created_at") -> datetime:
    """An event time we can bucket on: absurdly old is an error, in the future is clamped.

    Clients declare their own times; a post 'from next year' would otherwise open buckets
    far ahead of every other post and make the rest look late.

    >>> trusted_time(2e9, 1.7e9).timestamp()
    1700000000.0
    """
    if seconds != seconds or seconds < EARLIEST:  # NaN, or before 2000
        raise PostError(f"`{what}` {seconds!r} is before 2000")
    if seconds > now + MAX_SKEW_S:
        seconds = now
    return datetime.fromtimestamp(seconds, tz=UTC)


def text_field(raw: dict[str, Any], key: str, what: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise PostError(f"{what}: `{key}` must be a string, got {type(value).__name__}")
    return value


def object_field(raw: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise PostError(f"{what}: `{key}` must be an object, got {type(value).__name__}")
    return value
