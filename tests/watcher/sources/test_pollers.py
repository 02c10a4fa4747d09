from __future__ import annotations

import contextlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import T0
from tests.watcher.sources.fakes import FakeFeed, FakeReddit, reddit_child, rss_document, serving
from tests.watcher.sources.helpers import Sleeps, collect, fast_backoff
from tests.watcher.sources.test_jetstream import JSON
from watcher.post import PostError
from watcher.sources.reddit import RedditSource, pace, parse_child, parse_listing
from watcher.sources.rss import RssSource, parse_feed

NOW = T0 + 86400.0
pytestmark = pytest.mark.timeout(30)


def rss(url: str, **kwargs: Any) -> RssSource:
    kwargs.setdefault("backoff", fast_backoff())
    kwargs.setdefault("sleep", Sleeps())
    return RssSource("rss:test", url, clock=lambda: NOW, **kwargs)


async def test_rss_polls_conditionally_and_yields_each_entry_once() -> None:
    fake = FakeFeed([rss_document(range(5)), rss_document(range(9))])
    sleeps = Sleeps()
    async with serving(fake.app()) as server:
        src = rss(str(server.make_url("/feed.xml")), interval=42.0, sleep=sleeps)
        posts = await collect(src, 9)
    assert [p.id for p in posts] == [f"news-{i}" for i in range(9)]
    assert "If-None-Match" not in fake.requests[0]
    assert fake.requests[1]["If-None-Match"] == 'W/"v0"'
    assert fake.requests[1]["If-Modified-Since"] == "Mon, 04 Mar 2024 12:00:00 GMT"
    assert "groundswell" in fake.requests[0]["User-Agent"]
    assert set(sleeps.delays) == {42.0}
    assert src.health.duplicates == 5
    first = posts[0]
    assert first.text == "Story 0\nAbout toxic waste 0"
    assert (first.author, first.url, first.lang, first.hashtags) == (
        "News Example",
        "https://news.example/0",
        "en",
        ("pollution",),
    )
    assert first.timestamp == T0


async def test_rss_honours_retry_after_and_stops_on_403() -> None:
    fake = FakeFeed([rss_document(range(2))], refusals=[(503, {"Retry-After": "120"}), (403, {})])
    sleeps = Sleeps()
    async with serving(fake.app()) as server:
        src = rss(str(server.make_url("/feed.xml")), sleep=sleeps)
        assert await collect(src, 2) == []
    assert sleeps.delays == [120.0]
    assert src.health.state == "failed"


def test_rss_junk_and_entries_without_id_are_counted() -> None:
    doc = rss_document(range(2)).replace(b"<guid", b"<x").replace(b"</guid>", b"</x>")
    doc = doc.replace(b"<link>https://news.example/1</link>", b"")
    posts, problems = parse_feed(doc, {}, "https://news.example/feed.xml", NOW)
    assert [p.id for p in posts] == ["https://news.example/0"]
    assert problems == ["feed entry has neither an id/guid nor a link"]
    posts, problems = parse_feed(b"\x00not xml at all", {}, "https://x/feed", NOW)
    assert posts == []
    assert len(problems) == 1


@given(st.binary(max_size=400))
def test_fuzz_rss_parser_never_raises(body: bytes) -> None:
    parse_feed(body, {"Content-Type": "application/rss+xml"}, "https://x/feed", NOW)


def reddit(url: str, **kwargs: Any) -> RedditSource:
    kwargs.setdefault("backoff", fast_backoff())
    kwargs.setdefault("sleep", Sleeps())
    return RedditSource(
        "reddit:environment",
        "environment",
        base_url=url,
        clock=lambda: NOW,
        interval=30.0,
        user_agent="python:test:1 (by /u/tester)",
        **kwargs,
    )


async def test_reddit_pages_forward_with_before_and_yields_each_post_once() -> None:
    fake = FakeReddit(posts=400, visible=-60, step=150)  # 90 at first, then full pages
    sleeps = Sleeps()
    async with serving(fake.app()) as server:
        src = reddit(str(server.make_url("")), sleep=sleeps)
        posts = await collect(src, 400)
    assert sorted(p.id for p in posts) == sorted(f"reddit:t3_p{i:05d}" for i in range(400))
    assert len({p.id for p in posts}) == 400
    assert "before" not in fake.requests[0]
    assert fake.requests[1]["before"] == "t3_p00089"
    assert fake.requests[2]["before"] == "t3_p00189"  # a full page: straight on to the next
    assert all(r["limit"] == "100" and r["raw_json"] == "1" for r in fake.requests)
    assert set(fake.agents) == {"python:test:1 (by /u/tester)"}
    assert max(sleeps.delays) == 30.0  # 95 left of 300 s: the interval is the slower pace


async def test_reddit_429_waits_for_the_reset() -> None:
    fake = FakeReddit(
        posts=5, refusals=[(429, {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "77"})]
    )
    sleeps = Sleeps()
    async with serving(fake.app()) as server:
        src = reddit(str(server.make_url("")), sleep=sleeps)
        assert len(await collect(src, 5)) == 5
    assert sleeps.delays[0] == 77.0


def test_reddit_listing_maps_fields_and_counts_bad_children() -> None:
    listing = {"kind": "Listing", "data": {"children": [reddit_child(3), {"kind": "t3"}, 7]}}
    posts, problems = parse_listing(listing, NOW)
    assert len(problems) == 2
    post = posts[0]
    assert (post.author, post.text) == ("u/user3", "Toxic waste thread 3\nbody text")
    assert post.url == "https://www.reddit.com/r/environment/comments/p00003/x/"
    assert post.timestamp == T0 + 30
    assert pace({}, 60.0) == 60.0


@given(JSON, st.sampled_from(["name", "title", "selftext", "created_utc", "permalink", "author"]))
def test_fuzz_reddit_children_parse_or_raise_post_error(value: object, key: str) -> None:
    child = reddit_child(1)
    child["data"][key] = value
    with contextlib.suppress(PostError):
        parse_child(orjson.loads(orjson.dumps(child)), NOW)


@given(JSON)
def test_fuzz_reddit_listing_parse_or_raise_post_error(value: object) -> None:
    with contextlib.suppress(PostError):
        parse_listing({"kind": "Listing", "data": value}, NOW)
