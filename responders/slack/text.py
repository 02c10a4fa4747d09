"""Untrusted text made safe for Slack mrkdwn: escaped, clipped, links checked.

Post text, author names, hashtags and URLs come from the public. Slack treats `<…>` as a
control sequence (`<!channel>`, `<@U123>`, `<https://evil|bank>`), so `&`, `<` and `>` are
escaped as Slack documents, and only http(s) links we build ourselves are ever wrapped in
`<…>`. Clipping never cuts an escape in half.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[&<>]")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
ELLIPSIS = "…"


def escape(text: str) -> str:
    """Escape the three characters Slack reserves.

    >>> escape("<!channel> & <@U123> <https://evil|bank>")
    '&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://evil|bank&gt;'
    """
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group()], text)


def clip(text: str, limit: int) -> str:
    """`text` escaped and cut to at most `limit` characters, whitespace folded, with an ellipsis
    when cut, never splitting an `&amp;`.

    >>> clip("a < b and more", 10)
    'a &lt; b…'
    >>> clip("a << b", 7)
    'a &lt;…'
    >>> clip("a << b", 6)
    'a…'
    """
    flat = " ".join(text.split())
    out: list[str] = []
    used = 0
    for char in flat:
        piece = _ENTITIES.get(char, char)
        if used + len(piece) > limit - 1:
            return "".join(out).rstrip() + ELLIPSIS
        out.append(piece)
        used += len(piece)
    return "".join(out)


def plain(text: str, limit: int) -> str:
    """For `plain_text` objects, which Slack does not parse: fold and cut, no escaping."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + ELLIPSIS


def safe_url(url: str) -> str:
    """The URL if it is a plain http(s) address, with the characters that would end or split a
    Slack link percent-encoded; otherwise ''.

    >>> safe_url("https://ex.example/a|b>c")
    'https://ex.example/a%7Cb%3Ec'
    >>> safe_url("javascript:alert(1)")
    ''
    """
    if len(url) > 2_000 or any(c.isspace() for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return ""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def link(url: str, label: str, limit: int = 200) -> str:
    """A Slack link `<url|label>` when the URL is safe, else just the escaped label."""
    target = safe_url(url)
    text = clip(label, limit)
    if not target:
        return text
    # The label is escaped, so it cannot close the link; only the first '|' (ours) splits it.
    return f"<{target}|{text}>"


def mention(user_id: str, fallback: str) -> str:
    """`<@U…>` for a real Slack user id (from Slack's own payload), else the escaped name."""
    if _SLACK_USER.match(user_id):
        return f"<@{user_id}>"
    return clip(fallback or "someone", 80)
