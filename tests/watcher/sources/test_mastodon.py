from __future__ import annotations

import contextlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import T0
from tests.watcher.sources.fake_mastodon import FakeMastodon, mastodon_status
from tests.watcher.sources.fakes import serving
from tests.watcher.sources.helpers import Sleeps, collect, fast_backoff
from tests.watcher.sources.test_jetstream import JSON
from watcher.post import PostError
from watcher.sources.mastodon import MastodonSource
from watcher.sources.mastodon_wire import SSEParser, parse_status

NOW = T0 + 86400.0
pytestmark = pytest.mark.timeout(30)


def source(base: str, **kwargs: Any) -> MastodonSource:
    kwargs.setdefault("backoff", fast_backoff())
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("token", "bot-token")
    return MastodonSource("mastodon:test", base, **kwargs)


def statuses(n: int) -> list[dict[str, Any]]:
    return [mastodon_status(i) for i in range(n)]


async def test_reconnects_backfill_the_gap_from_rest_and_repeat_nothing() -> None:
    fake = FakeMastodon(statuses(700))
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("")))
        posts = await collect(src, 700)
    ids = [p.id for p in posts]
    assert len(ids) == len(set(ids)) == 700
    assert set(ids) == {s["uri"] for s in fake.statuses}
    assert src.health.reconnects >= 4
    assert src.health.duplicates >= 3  # the resent statuses were dropped
    assert fake.rest_calls  # the gaps really came from the REST timeline ...
    assert all(call["limit"] == "40" for call in fake.rest_calls)
    assert "min_id" in fake.rest_calls[0]  # ... paged forward from the last id


async def test_hashtag_streams_and_backfills_from_the_tag_timeline() -> None:
    fake = FakeMastodon(statuses(200), per_connection=90)
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("")), tag="#DumpGate")
        posts = await collect(src, 200)
    assert len({p.id for p in posts}) == 200


async def test_a_refused_token_stops_the_source() -> None:
    fake = FakeMastodon(statuses(5))
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("")), token="wrong")
        assert await collect(src, 5) == []
    assert src.health.state == "failed"
    assert "HTTP 401" in src.health.last_error
    assert fake.connections == 1


async def test_429_and_5xx_are_retried() -> None:
    fake = FakeMastodon(statuses(30), refusals=[(429, {"Retry-After": "3"}), (502, {})])
    sleeps = Sleeps()
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("")), sleep=sleeps)
        posts = await collect(src, 30)
    assert len(posts) == 30
    assert sleeps.delays[0] == 3.0
    assert sleeps.delays[1] <= 0.001
    assert src.health.reconnects == 2


async def test_heartbeats_alone_keep_the_stream_up_and_yield_nothing() -> None:
    # 60 heartbeats 10 ms apart outlast the 0.4 s read timeout only if they count as reads.
    fake = FakeMastodon(statuses(5), heartbeats_only=60, heartbeat_s=0.01, gap=0)
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("")), read_timeout=0.4)
        posts = await collect(src, 5)
    assert len(posts) == 5
    assert src.health.reconnects == 1
    assert src.health.received == 5


async def test_a_stalled_stream_is_detected_by_the_read_timeout() -> None:
    fake = FakeMastodon(statuses(5), stall_first=True, gap=0)
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("")), read_timeout=0.3)
        posts = await collect(src, 5)
    assert len(posts) == 5
    assert "Timeout" in src.health.last_error


async def test_malformed_events_are_counted_and_skipped() -> None:
    bad = [
        "event: update\ndata: {not json\n\n",
        "event: update\ndata: []\n\n",
        'event: status.update\ndata: {"id": "1"}\n\n',
        "event: filters_changed\ndata: undefined\n\n",
        "event: delete\ndata: 12345\n\n",
        "retry: 100\nid: 7\n\n",
    ]
    fake = FakeMastodon(statuses(10), raw_events=bad)
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("")))
        posts = await collect(src, 10)
    assert len(posts) == 10
    assert src.health.malformed == 3


def test_parse_status_maps_the_fields() -> None:
    raw = mastodon_status(7)
    raw["account"]["acct"] = "jo@news.example"
    raw["spoiler_text"] = "CW: waste"
    raw["in_reply_to_id"] = "42"
    local_id, post = parse_status(raw, "social.example", NOW)
    assert local_id == raw["id"]
    assert post.id == raw["uri"]
    assert post.author == "jo@news.example"
    assert post.text == "CW: waste\nStatus 7 on #DumpGate toxic waste & more"
    assert post.hashtags == ("dumpgate",)
    assert (post.lang, post.url, post.reply_to, post.author_followers) == (
        "en",
        raw["url"],
        "42",
        7,
    )
    assert post.timestamp == T0 + 7


def test_a_local_account_gets_the_instance_and_a_boost_points_at_the_original() -> None:
    original = mastodon_status(1, host="other.example")
    raw = {
        **mastodon_status(2),
        "content": "",
        "reblog": original,
        "created_at": "2090-01-01T00:00:00Z",
    }
    _, post = parse_status(raw, "social.example", NOW)
    assert post.author == "u2@social.example"
    assert post.reshare_of == original["uri"]
    assert "Status 1" in post.text
    assert post.timestamp == NOW  # a time far in the future is clamped


@given(st.lists(st.text(max_size=30), max_size=30))
def test_fuzz_sse_parser_never_raises(lines: list[str]) -> None:
    parser = SSEParser()
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            assert isinstance(event[0], str)
            assert isinstance(event[1], str)


@given(
    JSON, st.sampled_from(["id", "created_at", "content", "account", "tags", "reblog", "language"])
)
def test_fuzz_mangled_statuses_parse_or_raise_post_error(value: object, key: str) -> None:
    raw = mastodon_status(1)
    raw[key] = value
    with contextlib.suppress(PostError):
        parse_status(orjson.loads(orjson.dumps(raw)), "social.example", NOW)


@given(JSON)
def test_fuzz_arbitrary_json_is_a_status_or_a_post_error(value: object) -> None:
    with contextlib.suppress(PostError):
        parse_status(value, "social.example", NOW)
