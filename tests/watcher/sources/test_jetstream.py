from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import T0
from tests.watcher.sources.fakes import FakeJetstream, jetstream_feed, jetstream_post, serving
from tests.watcher.sources.helpers import Sleeps, collect, fast_backoff
from watcher.post import PostError
from watcher.sources.cursors import CursorStore
from watcher.sources.jetstream import JetstreamSource, parse_event

NOW = T0 + 3600.0
pytestmark = pytest.mark.timeout(30)


def source(url: str, **kwargs: Any) -> JetstreamSource:
    kwargs.setdefault("backoff", fast_backoff())
    kwargs.setdefault("clock", lambda: NOW)
    return JetstreamSource("jetstream:test", url, **kwargs)


async def test_disconnects_every_few_hundred_frames_lose_and_repeat_nothing() -> None:
    fake = FakeJetstream(jetstream_feed(1500))
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("/subscribe")))
        posts = await collect(src, 1500)
    ids = [p.id for p in posts]
    assert len(ids) == len(set(ids)) == 1500
    assert set(ids) == {
        f"at://did:plc:author{i % 50}/app.bsky.feed.post/3k{i:09d}" for i in range(1500)
    }
    assert src.health.reconnects >= 5
    assert src.health.duplicates > 0  # the 5 s overlap was really re-sent and dropped
    cursors = [int(q["cursor"]) for q in fake.queries[1:]]
    assert all(q["wantedCollections"] == "app.bsky.feed.post" for q in fake.queries)
    assert cursors == sorted(cursors)


async def test_a_restart_resumes_from_the_state_file_without_repeats(tmp_path: Path) -> None:
    fake = FakeJetstream(jetstream_feed(900), per_connection=10_000)
    state = tmp_path / "state.sqlite"
    async with serving(fake.app()) as server:
        url = str(server.make_url("/subscribe"))
        store = CursorStore(state)
        first = await collect(source(url, cursors=store), 400)
        store.close()
        fake.live = len(fake.events)  # the live tip moved on while we were down
        store = CursorStore(state)
        second = await collect(source(url, cursors=store), 500)
        store.close()
    assert "cursor" not in fake.queries[0]
    assert int(fake.queries[1]["cursor"]) == first[-1].timestamp * 1e6 - 5_000_000
    ids = [p.id for p in first + second]
    assert len(ids) == len(set(ids)) == 900


async def test_a_gap_beyond_the_servers_lookback_is_counted(tmp_path: Path) -> None:
    store = CursorStore(tmp_path / "state.sqlite")
    fake = FakeJetstream(jetstream_feed(5))
    async with serving(fake.app()) as server:
        url = str(server.make_url("/subscribe"))
        store.save(url, int(T0 * 1e6) - 1, T0)  # processed up to just before the feed
        src = source(url, cursors=store, clock=lambda: T0 + 40 * 3600)
        await collect(src, 5)
    store.close()
    assert src.health.gaps == 1


async def test_401_stops_the_source_and_marks_it_failed() -> None:
    fake = FakeJetstream(jetstream_feed(5), refusals=[(401, {})])
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("/subscribe")))
        assert await collect(src, 5) == []
    assert src.health.state == "failed"
    assert "HTTP 401" in src.health.last_error
    assert len(fake.queries) == 1


async def test_429_waits_as_told_and_5xx_backs_off() -> None:
    fake = FakeJetstream(
        jetstream_feed(20), refusals=[(429, {"Retry-After": "7"}), (503, {}), (500, {})]
    )
    sleeps = Sleeps()
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("/subscribe")), sleep=sleeps)
        posts = await collect(src, 20)
    assert len(posts) == 20
    assert sleeps.delays[0] == 7.0
    assert 0.0005 <= sleeps.delays[1] <= 0.001 <= sleeps.delays[2] <= 0.002  # doubling, jittered
    assert src.health.reconnects == 3


async def test_a_stalled_connection_is_detected_by_the_read_timeout() -> None:
    fake = FakeJetstream(jetstream_feed(10), stall_first=True)
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("/subscribe")), read_timeout=0.3)
        posts = await collect(src, 10)
    assert len(posts) == 10
    assert src.health.reconnects == 1
    assert "TimeoutError" in src.health.last_error


async def test_malformed_frames_are_counted_and_skipped() -> None:
    bad = [
        "{not json",
        "[]",
        '{"kind":"commit","time_us":"soon"}',
        orjson.dumps({**jetstream_post(0), "did": 7}).decode(),
    ]
    fake = FakeJetstream(jetstream_feed(10), extra_frames=bad)
    async with serving(fake.app()) as server:
        src = source(str(server.make_url("/subscribe")))
        posts = await collect(src, 10)
    assert len(posts) == 10
    assert src.health.malformed == 4


def test_parse_maps_text_facets_by_byte_offset_reply_and_quote() -> None:
    text = "Déjà vu 🌍 #DumpGate ex.am/long… https://ngo.example/r"
    raw = text.encode()

    def span(part: str) -> dict[str, int]:
        start = raw.index(part.encode())
        return {"byteStart": start, "byteEnd": start + len(part.encode())}

    event = jetstream_post(
        3,
        text=text,
        facets=[
            {
                "index": span("#DumpGate"),
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "DumpGate"}],
            },
            {
                "index": span("ex.am/long…"),
                "features": [
                    {"$type": "app.bsky.richtext.facet#link", "uri": "https://ex.am/long/path"}
                ],
            },
            {
                "index": span("https://ngo.example/r"),
                "features": [
                    {"$type": "app.bsky.richtext.facet#link", "uri": "https://ngo.example/r"}
                ],
            },
        ],
        reply={"root": {"uri": "at://r", "cid": "c"}, "parent": {"uri": "at://p", "cid": "c"}},
        embed={"$type": "app.bsky.embed.record", "record": {"uri": "at://q", "cid": "c"}},
        langs=["fr", "en"],
    )
    time_us, post = parse_event(orjson.dumps(event), NOW)
    assert post is not None
    assert time_us == event["time_us"]
    assert post.timestamp == event["time_us"] / 1e6  # server time, not createdAt
    assert post.hashtags == ("dumpgate",)
    # Only the shortened link is spelled out; the one shown in full is not repeated.
    assert post.text == f"{text}\nhttps://ex.am/long/path"
    assert (post.reply_to, post.reshare_of, post.lang) == ("at://p", "at://q", "fr")
    assert post.url == "https://bsky.app/profile/did:plc:author3/post/3k000000003"


def test_a_future_time_is_clamped_to_now() -> None:
    event = jetstream_post(1)
    event["time_us"] = int((NOW + 86400) * 1e6)
    _, post = parse_event(orjson.dumps(event), NOW)
    assert post is not None
    assert post.timestamp == NOW


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_arbitrary_frames_parse_or_raise_post_error(frame: bytes) -> None:
    with contextlib.suppress(PostError):
        parse_event(frame, NOW)


@given(
    JSON,
    st.sampled_from(["commit", "record", "did", "time_us", "facets", "embed", "reply", "text"]),
)
def test_fuzz_mangled_posts_parse_or_raise_post_error(value: object, key: str) -> None:
    event: dict[str, Any] = jetstream_post(1)
    target = event if key in ("did", "time_us") else event["commit"]
    if key not in ("commit", "did", "time_us"):
        target = event["commit"]["record"]
    target[key] = value
    with contextlib.suppress(PostError):
        parse_event(orjson.dumps(event), NOW)
