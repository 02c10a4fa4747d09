from __future__ import annotations

from pathlib import Path

import pytest

from watcher.cli import main
from watcher.service.config import ConfigError, load_config
from watcher.sources.cursors import CursorStore
from watcher.sources.follow import FollowSource
from watcher.sources.ingest import IngestSource
from watcher.sources.jetstream import JetstreamSource
from watcher.sources.mastodon import MastodonSource
from watcher.sources.reddit import RedditSource
from watcher.sources.replay import ReplaySource
from watcher.sources.rss import RssSource
from watcher.sources.specs import SourceOptions, SourceSpecError, parse_source


def build(spec: str, tmp_path: Path, **env: str) -> object:
    return parse_source(
        spec, env=env, cursors=lambda: CursorStore(tmp_path / "s.sqlite"), options=SourceOptions()
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


def test_config_file_is_validated_with_clear_messages(tmp_path: Path) -> None:
    good = tmp_path / "service.yaml"
    good.write_text(
        "sources:\n  - reddit:environment\n  - {spec: 'rss:https://n.example/f', interval: 600}\n"
        "http: {port: 0}\nrecord: out.ndjson\n"
    )
    config = load_config(good)
    assert [e.spec for e in config.entries()] == ["reddit:environment", "rss:https://n.example/f"]
    assert config.entries()[1].options().interval == 600
    assert config.http.port == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - {spec: 'rss:x', interval: -1}\nhttp: {prot: 1}\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    lines = str(info.value).splitlines()
    assert f"{bad}: sources.0.interval: Input should be greater than 0 (got -1)" in lines
    assert f"{bad}: http.prot: Extra inputs are not permitted (got 1)" in lines


def test_run_reports_a_bad_config_and_a_bad_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: []\n")
    assert main(["run", "--config", str(bad)]) == 2
    assert "sources: List should have at least 1 item" in capsys.readouterr().err
    assert main(["run", "--source", "twitter:x"]) == 2
    assert "expected one of" in caplog.text
