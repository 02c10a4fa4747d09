"""Build sources from `--source KIND:TARGET` specs (and the config file's entries).

file:PATH[?speed=N][&follow=1]      replay (or tail) a posts NDJSON file
mastodon:https://INSTANCE[#tag]     public (or hashtag) stream; token in $GROUNDSWELL_MASTODON_TOKEN
jetstream:wss://HOST/subscribe      Bluesky posts; resume cursor in the --state file
rss:URL                             an RSS or Atom feed, polled
reddit:SUBREDDIT                    a subreddit's new posts, polled
ingest                              POST /ingest; token in $GROUNDSWELL_INGEST_TOKEN

`KINDS` maps each kind to its factory; a new feed is one more row. Tokens come from the
`Environment` the caller passes (read once, in `watcher/settings.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from watcher.errors import GroundswellError
from watcher.settings import Environment, SourceEntry
from watcher.sources.base import Source
from watcher.sources.cursors import CursorStore
from watcher.sources.follow import FollowSource
from watcher.sources.ingest import TOKEN_ENV, IngestSource
from watcher.sources.jetstream import JetstreamSource
from watcher.sources.mastodon import READ_TIMEOUT_S, STALL_BEATS, MastodonSource
from watcher.sources.reddit import USER_AGENT as REDDIT_UA
from watcher.sources.reddit import RedditSource
from watcher.sources.replay import ReplaySource, file_lines
from watcher.sources.rss import USER_AGENT as RSS_UA
from watcher.sources.rss import RssSource

MASTODON_TOKEN_ENV = "GROUNDSWELL_MASTODON_TOKEN"  # noqa: S105 - a variable name


class SourceSpecError(GroundswellError, ValueError):
    """A `--source` value that names no known feed, or cannot be used as given."""

    what = "source"


@dataclass(frozen=True, slots=True)
class Wanted:
    """What one factory gets: the entry, its target (after `KIND:`) and the shared parts."""

    entry: SourceEntry
    target: str
    env: Environment
    cursors: Callable[[], CursorStore]  # opened only when a source keeps a cursor

    @property
    def spec(self) -> str:
        return self.entry.spec

    def fail(self, why: str) -> SourceSpecError:
        return SourceSpecError(f"--source {self.spec!r}: {why}")

    def http_url(self, target: str) -> str:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
            raise self.fail(f"{target!r} is not an http(s) or ws(s) URL")
        return target


def _file(w: Wanted) -> Source:
    parts = urlsplit(w.target)
    query = parse_qs(parts.query)
    path = Path(parts.path)
    if not path.is_file():
        raise w.fail(f"no such file {path}")
    if query.get("follow", ["0"])[0] not in ("0", ""):
        return FollowSource(f"file:{path.name}", path)
    try:
        speed = float(query["speed"][0]) if "speed" in query else None
    except ValueError:
        raise w.fail("speed must be a number") from None
    return ReplaySource(f"file:{path.name}", file_lines(path), speed=speed)


def _mastodon(w: Wanted) -> Source:
    base, _, tag = w.target.partition("#")
    w.http_url(base)
    token_env = w.entry.token_env or MASTODON_TOKEN_ENV
    token = w.env.get(token_env)
    if not token:
        raise w.fail(
            f"set {token_env} to a bot account's access token "
            "(Mastodon 4.2+ streams public timelines only to logged-in users)"
        )
    streaming = w.entry.streaming_url or ""
    if streaming:
        w.http_url(streaming)
    return MastodonSource(
        w.spec,
        base,
        tag=tag,
        token=token,
        streaming_url=streaming,
        local_domain=w.entry.local_domain or "",
        read_timeout=w.entry.read_timeout or READ_TIMEOUT_S,
        stall_beats=w.entry.stall_beats or STALL_BEATS,
    )


def _jetstream(w: Wanted) -> Source:
    url = w.http_url(w.target)
    return JetstreamSource(
        w.spec,
        url,
        cursors=w.cursors(),
        failover=[w.http_url(other) for other in w.entry.failover],
        read_timeout=w.entry.read_timeout or 60.0,
    )


def _rss(w: Wanted) -> Source:
    url = w.http_url(w.target)
    return RssSource(
        w.spec,
        url,
        interval=w.entry.interval or 300.0,
        user_agent=w.entry.user_agent or RSS_UA,
    )


def _reddit(w: Wanted) -> Source:
    if not w.target.replace("_", "").isalnum():
        raise w.fail(f"{w.target!r} is not a subreddit name")
    return RedditSource(
        w.spec,
        w.target,
        base_url=w.env.reddit_url,
        interval=w.entry.interval or 60.0,
        user_agent=w.entry.user_agent or w.env.reddit_user_agent or REDDIT_UA,
    )


def _ingest(w: Wanted) -> Source:
    token_env = w.entry.token_env or TOKEN_ENV
    token = w.env.get(token_env)
    if not token:
        raise SourceSpecError(
            f"--source ingest: set {token_env} to the bearer token callers must send"
        )
    return IngestSource(token)


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of feed: how its spec is written, and its factory."""

    shape: str  # as `--help` and the errors show it
    build: Callable[[Wanted], Source]
    target: bool = True  # whether `KIND:TARGET` needs the target


#: Every kind of `--source`, by the name before the colon.
KINDS: dict[str, Kind] = {
    "file": Kind("file:PATH", _file),
    "mastodon": Kind("mastodon:https://INSTANCE[#tag]", _mastodon),
    "jetstream": Kind("jetstream:wss://HOST/subscribe", _jetstream),
    "rss": Kind("rss:URL", _rss),
    "reddit": Kind("reddit:SUBREDDIT", _reddit),
    "ingest": Kind("ingest", _ingest, target=False),
}


def _expected() -> str:
    shapes = [kind.shape for kind in KINDS.values()]
    return f"{', '.join(shapes[:-1])} or {shapes[-1]}"


def build_source(
    entry: SourceEntry, *, env: Environment, cursors: Callable[[], CursorStore]
) -> Source:
    """Build the source `entry` names; raise `SourceSpecError` saying what to fix."""
    name, _, target = entry.spec.partition(":")
    kind = KINDS.get(name)
    if kind is None or bool(target) != kind.target:
        raise SourceSpecError(f"--source {entry.spec!r}: expected one of {_expected()}")
    return kind.build(Wanted(entry, target, env, cursors))
