"""Untrusted text made safe for Slack mrkdwn: escaped, clipped, links checked.

Post text, author names, hashtags and URLs come from the public. Slack treats `<…>` as a
control sequence (`<!channel>`, `<@U123>`, `<https://evil|bank>`), so `&`, `<` and `>` are
escaped as Slack documents, and only http(s) links we build ourselves are ever wrapped in
`<…>`. Clipping never cuts an escape in half. Unicode format characters (bidi overrides such
as U+202E, zero-width spaces and joiners) are dropped everywhere, so a name cannot reverse or
hide what follows it. Mrkdwn has no escape for its markup (`*bold*`, `_italic_`, `~strike~`,
`` `code` ``, `:emoji:`), so untrusted text shown inside mrkdwn goes through `literal`, which
swaps those characters for look-alikes; post text itself is sent as `plain_text` instead. A
post's own URL is linked only when it is on the post's own host (`post_link`).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[&<>]")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
ELLIPSIS = "…"
#: Mrkdwn's markup characters and the look-alikes `literal` shows instead.
_MARKUP = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})
_EMOJI = re.compile(r":([\w+-]+):")


def visible(text: str) -> str:
    """`text` without Unicode format characters (category Cf: bidi controls, zero-width).

    >>> visible("evil\u202egnp.exe \u200bhidden")
    'evilgnp.exe hidden'
    """
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


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
    flat = " ".join(visible(text).split())
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
    flat = " ".join(visible(text).split())
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


def disarm(text: str) -> str:
    """`text` with mrkdwn's markup characters, and the colons of an `:emoji:` code, swapped
    for look-alikes (not escaped)."""
    return _EMOJI.sub("˸\\1˸", text).translate(_MARKUP)


def literal(text: str, limit: int) -> str:
    """Untrusted text for inside mrkdwn: escaped, clipped and with its markup disarmed, so
    Slack shows it as written (a name cannot close our `*bold*` or turn into an emoji).

    >>> literal("<!here>*boss* :rotating_light:", 40)
    '&lt;!here&gt;∗boss∗ ˸rotatingˍlight˸'
    """
    return clip(disarm(text), limit)


def post_host(post_id: str, author: str) -> str:
    """The host a post lives on, from what its source says about it: the host of its id
    when that is a web address (ActivityPub, most feeds), `bsky.app` for an AT Protocol
    id, `www.reddit.com` for Reddit's, else the domain of a `user@domain` author; '' when
    nothing says.

    >>> post_host("https://social.example/users/a/statuses/1", "a@social.example")
    'social.example'
    >>> post_host("7", "@a@Other.Example")
    'other.example'
    """
    if post_id.startswith(("https://", "http://")):
        return (urlsplit(post_id).hostname or "").lower()
    if post_id.startswith("at://"):
        return "bsky.app"
    if post_id.startswith("reddit:"):
        return "www.reddit.com"
    user, at, domain = author.lstrip("@").rpartition("@")
    return domain.lower() if at and user and "." in domain else ""


def post_link(url: str, post_id: str, author: str) -> str:
    """The post's URL when it is a safe address on the post's own host (`post_host`), else
    '': a post cannot make us link a page its sender chose somewhere else.

    >>> post_link("https://social.example/@a/1", "https://social.example/s/1", "a")
    'https://social.example/@a/1'
    >>> post_link("https://bank.example.evil/login", "https://social.example/s/1", "a")
    ''
    """
    target = safe_url(url)
    host = post_host(post_id, author)
    if not target or not host:
        return ""
    return target if (urlsplit(target).hostname or "").lower() == host else ""
