"""Build sources from `--source KIND:TARGET` specs (and the config file's entries).

file:PATH[?speed=N][&follow=1]      replay (or tail) a posts NDJSON file
mastodon:https://INSTANCE[#tag]     public (or hashtag) stream; token in $GROUNDSWELL_MASTODON_TOKEN
jetstream:wss://HOST/subscribe      Bluesky posts; resume cursor in the --state file
rss:URL                             an RSS or Atom feed, polled
reddit:SUBREDDIT                    a subreddit's new posts, polled
ingest                              POST /ingest; token in $GROUNDSWELL_INGEST_TOKEN
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from watcher.sources.base import Source
from watcher.sources.cursors import CursorStore
from watcher.sources.follow import FollowSource
from watcher.sources.ingest import TOKEN_ENV, IngestSource
from watcher.sources.jetstream import JetstreamSource
from watcher.sources.mastodon import READ_TIMEOUT_S, MastodonSource
from watcher.sources.reddit import USER_AGENT as REDDIT_UA
from watcher.sources.reddit import RedditSource
from watcher.sources.replay import ReplaySource, file_lines
from watcher.sources.rss import USER_AGENT as RSS_UA
from watcher.sources.rss import RssSource

MASTODON_TOKEN_ENV = "GROUNDSWELL_MASTODON_TOKEN"  # noqa: S105 - a variable name
KINDS = (
    "file:PATH, mastodon:https://INSTANCE[#tag], jetstream:wss://HOST/subscribe, rss:URL, "
    "reddit:SUBREDDIT or ingest"
)


class SourceSpecError(ValueError):
    """A `--source` value that names no known feed, or cannot be used as given."""


@dataclass(frozen=True)
class SourceOptions:
    """Per-source settings the config file can give; None means the source's default."""

    interval: float | None = None
    user_agent: str | None = None
    read_timeout: float | None = None
    token_env: str | None = None


def _http_url(spec: str, target: str) -> str:
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise SourceSpecError(f"--source {spec!r}: {target!r} is not an http(s) or ws(s) URL")
    return target


def parse_source(
    spec: str,
    *,
    env: Mapping[str, str],
    cursors: Callable[[], CursorStore],
    options: SourceOptions = SourceOptions(),
) -> Source:
    """Build the source `spec` names; raise `SourceSpecError` saying what to fix."""
    kind, _, target = spec.partition(":")
    if kind == "file" and target:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        path = Path(parts.path)
        if not path.is_file():
            raise SourceSpecError(f"--source {spec!r}: no such file {path}")
        if query.get("follow", ["0"])[0] not in ("0", ""):
            return FollowSource(f"file:{path.name}", path)
        try:
            speed = float(query["speed"][0]) if "speed" in query else None
        except ValueError:
            raise SourceSpecError(f"--source {spec!r}: speed must be a number") from None
        return ReplaySource(f"file:{path.name}", file_lines(path), speed=speed)
    if kind == "mastodon" and target:
        base, _, tag = target.partition("#")
        _http_url(spec, base)
        token_env = options.token_env or MASTODON_TOKEN_ENV
        token = env.get(token_env, "")
        if not token:
            raise SourceSpecError(
                f"--source {spec!r}: set {token_env} to a bot account's access token "
                "(Mastodon 4.2+ streams public timelines only to logged-in users)"
            )
        return MastodonSource(
            spec, base, tag=tag, token=token, read_timeout=options.read_timeout or READ_TIMEOUT_S
        )
    if kind == "jetstream" and target:
        _http_url(spec, target)
        return JetstreamSource(
            spec, target, cursors=cursors(), read_timeout=options.read_timeout or 60.0
        )
    if kind == "rss" and target:
        _http_url(spec, target)
        return RssSource(
            spec,
            target,
            interval=options.interval or 300.0,
            user_agent=options.user_agent or RSS_UA,
        )
    if kind == "reddit" and target:
        if not target.replace("_", "").isalnum():
            raise SourceSpecError(f"--source {spec!r}: {target!r} is not a subreddit name")
        return RedditSource(
            spec,
            target,
            base_url=env.get("GROUNDSWELL_REDDIT_URL", "https://www.reddit.com"),
            interval=options.interval or 60.0,
            user_agent=options.user_agent or env.get("GROUNDSWELL_REDDIT_USER_AGENT", REDDIT_UA),
        )
    if kind == "ingest" and not target:
        token_env = options.token_env or TOKEN_ENV
        if not env.get(token_env):
            raise SourceSpecError(
                f"--source ingest: set {token_env} to the bearer token callers must send"
            )
        return IngestSource(env[token_env])
    raise SourceSpecError(f"--source {spec!r}: expected one of {KINDS}")
