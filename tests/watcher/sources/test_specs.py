from __future__ import annotations

from pathlib import Path

import pytest

from watcher.settings import Environment, SourceEntry
from watcher.sources.cursors import CursorStore
from watcher.sources.follow import FollowSource
from watcher.sources.ingest import IngestSource
from watcher.sources.jetstream import JetstreamSource
from watcher.sources.mastodon import MastodonSource
from watcher.sources.reddit import RedditSource
from watcher.sources.replay import ReplaySource
from watcher.sources.rss import RssSource
from watcher.sources.specs import KINDS, SourceSpecError, build_source


def build(spec: str, tmp_path: Path, **env: str) -> object:
    return build_source(
        SourceEntry(spec=spec),
        env=Environment.read(env),
        cursors=lambda: CursorStore(tmp_path / "s.sqlite"),
    )


def test_each_kind_of_spec_builds_its_source(tmp_path: Path) -> None:
    posts = tmp_path / "p.ndjson"
    posts.write_text("")
    assert isinstance(build(f"file:{posts}?speed=60", tmp_path), ReplaySource)
    assert isinstance(build(f"file:{posts}?follow=1", tmp_path), FollowSource)
    mastodon = build(
        "mastodon:https://social.example#DumpGate", tmp_path, GROUNDSWELL_MASTODON_TOKEN="t"
    )
    assert isinstance(mastodon, MastodonSource)
    assert (mastodon.base, mastodon.tag) == ("https://social.example", "DumpGate")
    assert isinstance(build("jetstream:wss://js.example/subscribe", tmp_path), JetstreamSource)
    assert isinstance(build("rss:https://news.example/feed.xml", tmp_path), RssSource)
    assert isinstance(build("reddit:environment", tmp_path), RedditSource)
    assert isinstance(build("ingest", tmp_path, GROUNDSWELL_INGEST_TOKEN="t"), IngestSource)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mastodon:https://social.example", "set GROUNDSWELL_MASTODON_TOKEN to a bot account's"),
        ("ingest", "set GROUNDSWELL_INGEST_TOKEN to the bearer token"),
        ("rss:feed.xml", "'feed.xml' is not an http(s) or ws(s) URL"),
        ("reddit:r/../x", "'r/../x' is not a subreddit name"),
        ("twitter:x", "expected one of file:PATH, mastodon:"),
        ("file:/no/such/file", "no such file /no/such/file"),
    ],
)
def test_bad_specs_say_what_to_fix(spec: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(SourceSpecError, match=r"^--source ") as info:
        build(spec, tmp_path)
    assert message in str(info.value)


def test_every_kind_is_one_row_of_the_table() -> None:
    assert list(KINDS) == ["file", "mastodon", "jetstream", "rss", "reddit", "ingest"]


def test_a_config_entry_gives_its_source_options(tmp_path: Path) -> None:
    entry = SourceEntry(spec="ingest", token_env="MY_INGEST_TOKEN")

    def cursors() -> CursorStore:
        return CursorStore(tmp_path / "s.sqlite")

    source = build_source(entry, env=Environment.read({"MY_INGEST_TOKEN": "t"}), cursors=cursors)
    assert isinstance(source, IngestSource)
    rss = build_source(
        SourceEntry(spec="rss:https://n.example/f", interval=600, user_agent="me/1"),
        env=Environment(),
        cursors=cursors,
    )
    assert isinstance(rss, RssSource)
    assert rss.interval == 600


def test_a_mastodon_entry_may_name_its_streaming_host_local_domain_and_stall_limit(
    tmp_path: Path,
) -> None:
    entry = SourceEntry(
        spec="mastodon:https://social.example",
        streaming_url="wss://streaming.social.example",
        local_domain="example.org",
        stall_beats=5,
    )
    env = Environment.read({"GROUNDSWELL_MASTODON_TOKEN": "t"})
    source = build_source(entry, env=env, cursors=lambda: CursorStore(tmp_path / "s.sqlite"))
    assert isinstance(source, MastodonSource)
    assert source.base == "https://social.example"  # REST stays on the web host
    assert source.instance.streaming == "https://streaming.social.example"
    assert source.instance.domain == "example.org"
    assert source.stall_after == 75.0
    bad = SourceEntry(spec="mastodon:https://social.example", streaming_url="streaming.example")
    with pytest.raises(SourceSpecError, match=r"'streaming\.example' is not an http"):
        build_source(bad, env=env, cursors=lambda: CursorStore(tmp_path / "s.sqlite"))


def test_a_jetstream_entry_may_list_instances_to_fail_over_to(tmp_path: Path) -> None:
    entry = SourceEntry(
        spec="jetstream:wss://jetstream2.us-east.bsky.network/subscribe",
        failover=("wss://jetstream1.us-west.bsky.network/subscribe",),
    )
    source = build_source(
        entry, env=Environment(), cursors=lambda: CursorStore(tmp_path / "s.sqlite")
    )
    assert isinstance(source, JetstreamSource)
    assert source.urls == [
        "wss://jetstream2.us-east.bsky.network/subscribe",
        "wss://jetstream1.us-west.bsky.network/subscribe",
    ]
    bad = SourceEntry(spec="jetstream:wss://js.example/subscribe", failover=("js2.example",))
    with pytest.raises(SourceSpecError, match=r"'js2\.example' is not an http"):
        build_source(bad, env=Environment(), cursors=lambda: CursorStore(tmp_path / "s.sqlite"))
