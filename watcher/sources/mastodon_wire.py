"""Mastodon's wire format, pure: server-sent event lines and Status entities into posts.

No I/O here: `mastodon` feeds these from its connections, and the parsers can be tested and
fuzzed on their own.
"""

from __future__ import annotations

from watcher.post import Post, PostError, parse_timestamp
from watcher.sources.common import html_to_text, object_field, text_field, trusted_time


class SSEParser:
    """Server-sent events, line by line (WHATWG rules: `:` comments, joined `data:` lines).

    Mastodon writes `event:` and `data:` as separate chunks, and `:)` then `:thump` every
    15 s as comments, which dispatch nothing (the caller sees every line, so any line, a
    heartbeat included, proves the stream alive).

    >>> p = SSEParser()
    >>> [p.feed(x) for x in [":thump", "event: delete", "data: 42", ""]]
    [None, None, None, ('delete', '42')]
    """

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        line = line.rstrip("\r\n")
        if not line:
            event, data = self._event or "message", self._data
            self._event, self._data = "", []
            return (event, "\n".join(data)) if data else None
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        return None


def id_order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings in practice: compare by length, then text."""
    return len(status_id), status_id


def parse_status(raw: object, domain: str, now: float, *, base: str = "") -> tuple[str, Post]:
    """`(local id, post)` from a Status entity; raises `PostError` naming the bad field.

    `domain` is the instance's own domain (`LOCAL_DOMAIN`, from the instance API): a local
    account's `acct` has no `@domain`, so it is added. `base` (the REST base URL, scheme
    kept; default `https://DOMAIN`) makes the fallback id of a status without a `uri`.
    """
    if not isinstance(raw, dict):
        raise PostError("mastodon status must be a JSON object")
    what = "mastodon status"
    local_id = text_field(raw, "id", what)
    seconds = parse_timestamp(raw.get("created_at"))
    reblog = raw.get("reblog")
    shown = reblog if isinstance(reblog, dict) else raw  # a boost shows the boosted text
    content = html_to_text(text_field(shown, "content", what))
    spoiler = shown.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler:
        content = f"{spoiler}\n{content}"  # a content warning is worth matching too
    account = object_field(raw, "account", what)
    acct = text_field(account, "acct", what)
    followers = account.get("followers_count")
    try:  # when the account was made: the brief never names a brand-new one
        joined: float | None = parse_timestamp(account.get("created_at"))
    except PostError:
        joined = None  # not worth losing the post over
    tags = shown.get("tags")
    if tags is not None and not isinstance(tags, list):
        raise PostError(f"{what}: `tags` must be a list, got {type(tags).__name__}")
    names = [t["name"] for t in tags or () if isinstance(t, dict) and "name" in t]
    if not all(isinstance(n, str) for n in names):
        raise PostError(f"{what}: `tags[].name` must be strings")
    names = [n.lower() for n in names]
    uri = raw.get("uri")
    url = raw.get("url")
    language = shown.get("language")
    reply = raw.get("in_reply_to_id")
    fallback = f"{(base or f'https://{domain}').rstrip('/')}/statuses/{local_id}"
    post = Post(
        id=uri if isinstance(uri, str) and uri else fallback,
        author=acct if "@" in acct else f"{acct}@{domain}",
        text=content,
        created_at=trusted_time(seconds, now),
        url=url if isinstance(url, str) else "",
        lang=language if isinstance(language, str) else "",
        reshare_of=str(reblog.get("uri") or "") if isinstance(reblog, dict) else "",
        reply_to=reply if isinstance(reply, str) else "",
        author_followers=followers
        if isinstance(followers, int) and not isinstance(followers, bool)
        else None,
        hashtags=tuple(names),
        author_created_at=joined,
    )
    return local_id, post
