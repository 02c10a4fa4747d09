"""Mastodon as deployed: a separate streaming host, the instance API, failed backfills, stalls,
edits, and the awkward statuses a real instance serves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import T0
from tests.watcher.sources.fake_mastodon import FakeMastodon, mastodon_status, mastodon_timeline
from tests.watcher.sources.fakes import serving
from tests.watcher.sources.helpers import collect, fast_backoff
from watcher.pipeline.own import OwnVoice
from watcher.sources.mastodon import MastodonSource
from watcher.sources.mastodon_wire import parse_status

NOW = T0 + 86400.0
pytestmark = pytest.mark.timeout(30)


def source(base: str, **kwargs: Any) -> MastodonSource:
    kwargs.setdefault("backoff", fast_backoff())
    kwargs.setdefault("backfill_backoff", fast_backoff())
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("token", "bot-token")
    return MastodonSource("mastodon:test", base, **kwargs)


def url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@contextlib.asynccontextmanager
async def deployed(fake: FakeMastodon) -> AsyncIterator[tuple[str, str]]:
    """The web host and the streaming host, the instance API naming the latter."""
    async with serving(fake.streaming_app()) as streaming, serving(fake.app()) as web:
        fake.streaming_base = url(streaming).replace("http://", "ws://")
        yield url(web), url(streaming)


class Enough(Exception):
    """Raised by `Retries` to end a source that would retry for ever."""


class Retries:
    """An injected sleep that counts the source's waits and ends it after `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit, self.waits = limit, 0

    async def __call__(self, seconds: float) -> None:
        self.waits += 1
        if self.waits >= self.limit:
            raise Enough


async def test_the_stream_comes_from_the_streaming_host_and_the_backfill_from_the_web() -> None:
    fake = FakeMastodon(mastodon_timeline(400), per_connection=90, gap=30, heartbeat_s=0.01)
    async with deployed(fake) as (web, _):
        src = source(web)
        posts = await collect(src, 400)
    assert len({p.id for p in posts}) == len(posts) == 400
    assert src.health.reconnects >= 3
    assert fake.rest_calls  # the gaps came from the web host's REST timeline
    assert src.instance.lookups == 1  # asked once (v2), then cached across reconnects
    assert fake.redirects == 0  # straight to the streaming host


async def test_a_streaming_host_that_moved_is_asked_for_again_after_a_failure() -> None:
    fake = FakeMastodon(mastodon_timeline(100), per_connection=1000)
    async with serving(fake.streaming_app()) as live, serving(fake.app()) as web:
        fake.streaming_base = "ws://127.0.0.1:9"  # cached first, then refused

        async def moved(seconds: float) -> None:  # while the source backs off, it moves
            fake.streaming_base = url(live).replace("http://", "ws://")

        src = source(url(web), sleep=moved)
        posts = await collect(src, 100)
    assert len(posts) == 100
    assert src.instance.lookups == 2  # the failed host was forgotten and asked for again
    assert src.health.reconnects == 1


async def test_named_streaming_host_and_domain_skip_the_instance_api() -> None:
    fake = FakeMastodon(mastodon_timeline(30), v2=False)
    async with deployed(fake) as (web, streaming):
        src = source(web, streaming_url=streaming, local_domain="example.net")
        posts = await collect(src, 30)
    assert fake.instance_calls == src.instance.lookups == 0
    assert posts[0].author == "u0@example.net"


async def test_the_fake_answers_as_the_streaming_server_does() -> None:
    fake = FakeMastodon(mastodon_timeline(5))
    async with deployed(fake) as (web, streaming), aiohttp.ClientSession() as http:
        async with http.get(f"{streaming}/api/v1/streaming/public") as resp:
            assert (resp.status, await resp.json()) == (401, {"error": "Missing access token"})
        auth = {"Authorization": "Bearer bot-token"}
        async with http.get(f"{streaming}/api/v1/timelines/public", headers=auth) as resp:
            assert resp.status == 400
            assert await resp.json() == {"error": "Unknown channel requested"}
        async with http.get(f"{streaming}/api/v1/streaming/nope", headers=auth) as resp:
            assert resp.status == 400
        async with http.get(f"{web}/api/v2/instance") as resp:
            body = await resp.json()
        assert body["domain"] == "social.example"
        assert body["configuration"]["urls"]["streaming"] == streaming.replace("http", "ws")
        async with http.get(f"{streaming}/api/v1/streaming/public", headers=auth) as resp:
            first = await resp.content.readline()
            event = await resp.content.readline()
            data = await resp.content.readline()
    assert (first, event) == (b":)\n", b"event: update\n")
    assert data.startswith(b'data: {"id":"110000000000000000"')


async def test_a_rest_base_on_the_streaming_host_fails_backfills_but_not_the_stream() -> None:
    # The second trap: pointed at the streaming host, REST gets `400 Unknown channel`.
    fake = FakeMastodon(mastodon_timeline(120), per_connection=50, gap=10, heartbeat_s=0.01)
    async with deployed(fake) as (_, streaming):
        src = source(streaming, sleep=Retries(2))  # ends at the second reconnect
        with pytest.raises(Enough):
            await collect(src, 10_000)
    assert src.health.backfill_failures >= 1  # the one gap's backfill, retried meanwhile
    assert src.health.received >= 100  # both connections streamed on regardless
    assert src.health.state == "backoff"  # reconnecting, not failed


async def test_a_v1_instance_names_its_streaming_host_and_domain() -> None:
    fake = FakeMastodon(mastodon_timeline(50), v2=False, domain="example.org")
    async with deployed(fake) as (web, _):
        src = source(web)
        posts = await collect(src, 50)
    assert src.instance.lookups == 2  # v2 is 404 on Mastodon 3.x, then v1
    assert {p.author for p in posts if "remote" not in p.author} >= {"u0@example.org"}


async def test_local_authors_get_local_domain_not_the_host_and_own_accounts_match() -> None:
    fake = FakeMastodon(mastodon_timeline(80), domain="social.example")
    async with deployed(fake) as (web, _):
        assert "127.0.0.1:" in web  # the web host is not the instance's domain
        posts = await collect(source(web), 80)
    by_author = {p.author for p in posts}
    assert "u3@social.example" in by_author
    assert "u6@remote.example" in by_author  # remote accounts keep their own domain
    assert not any(":" in author or "127.0.0.1" in author for author in by_author)
    own = OwnVoice(["@u3@social.example"], [])
    assert sum(own.spoke(p, set()) for p in posts) == 2  # statuses 3 and 43


async def test_the_web_host_redirect_is_followed_with_the_token_once_the_instance_says_so() -> None:
    # The instance API fails at first, so the source streams from the web host, which
    # redirects to the streaming host; the source asks the instance again and follows.
    fake = FakeMastodon(mastodon_timeline(200), instance_failures=2, heartbeat_s=0.01)
    async with serving(fake.streaming_app()) as streaming, serving(fake.app()) as web:
        fake.redirect_to = url(streaming)
        fake.streaming_base = url(streaming).replace("http://", "ws://")
        src = source(url(web))
        posts = await collect(src, 200)
    assert len({p.id for p in posts}) == 200
    assert fake.redirects == 1  # once: afterwards the cached streaming host is used
    assert src.health.state == "connected"
    assert src.health.reconnects >= 1
    assert all(p.author.endswith(("@social.example", "@remote.example")) for p in posts)


async def test_a_redirect_to_a_host_the_instance_does_not_name_gets_no_token() -> None:
    fake = FakeMastodon(mastodon_timeline(20))
    stranger = FakeMastodon(mastodon_timeline(20))
    async with serving(stranger.streaming_app()) as other, serving(fake.app()) as web:
        fake.redirect_to = url(other)  # the instance names the web host, which points away
        src = source(url(web), sleep=Retries(3))
        with pytest.raises(Enough):
            await collect(src, 1)
    assert stranger.connections == 0  # the token never left for the stranger
    assert fake.redirects >= 3
    assert "not name as its streaming host" in src.health.last_error
    assert src.health.state != "failed"  # retried: the instance may fix itself


async def test_a_failed_backfill_is_counted_and_retried_while_streaming_goes_on() -> None:
    fake = FakeMastodon(
        mastodon_timeline(300),
        per_connection=100,
        gap=40,
        heartbeat_s=0.01,
        # Two drops: aiohttp resends a GET once by itself when a kept-alive connection
        # drops, so only the second one reaches the source as a disconnect.
        backfill_refusals=[(400, {}), (503, {}), (429, {"Retry-After": "0"}), (0, {}), (0, {})],
    )
    async with deployed(fake) as (web, _):
        src = source(web)
        posts = await collect(src, 300)
    assert len({p.id for p in posts}) == 300  # nothing lost: the retries filled the gaps
    assert src.health.backfill_failures == 4  # 400, 503, 429 and a disconnect, each retried
    assert src.health.state == "connected"


async def test_a_refused_token_on_backfill_stops_the_source() -> None:
    fake = FakeMastodon(mastodon_timeline(100), per_connection=50, backfill_refusals=[(401, {})])
    async with deployed(fake) as (web, _):
        src = source(web)
        posts = await collect(src, 100)
    assert len(posts) == 50
    assert src.health.state == "failed"
    assert "HTTP 401" in src.health.last_error


async def test_a_silent_stream_is_reopened_by_the_stall_watchdog_not_the_socket() -> None:
    fake = FakeMastodon(mastodon_timeline(30), stall_first=True, gap=0, heartbeat_s=0.01)
    async with deployed(fake) as (web, _):
        # The socket would wait an hour; three 20 ms heartbeat periods are the limit.
        src = source(web, read_timeout=3600.0, heartbeat_s=0.02, stall_beats=3)
        posts = await collect(src, 30)
    assert len(posts) == 30
    assert src.health.reconnects == 1
    assert src.health.last_error == (
        "TransientError: mastodon:test stream: stalled, no event or heartbeat for 0.06 s"
    )


async def test_a_half_written_chunk_then_silence_is_a_stall_too() -> None:
    # A raw HTTP server: the chunk header promises 4096 bytes, 10 arrive, then nothing
    # while the socket stays open. aiohttp waits for the rest; the watchdog does not.
    writers: list[asyncio.StreamWriter] = []

    async def half_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
        writer.write(b"Transfer-Encoding: chunked\r\n\r\n3\r\n:)\n\r\n1000\r\nevent: upd")
        await writer.drain()  # and then nothing: the handler returns, the socket stays open

    server = await asyncio.start_server(half_chunk, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        src = source(
            base,
            streaming_url=base,
            local_domain="social.example",
            read_timeout=3600.0,
            heartbeat_s=0.02,
            sleep=Retries(2),
        )
        with pytest.raises(Enough):
            await collect(src, 1)
        for writer in writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    assert len(writers) == 2  # the half-written stream was dropped and opened again
    assert src.health.last_error.endswith("stalled, no event or heartbeat for 0.06 s")


async def test_heartbeats_keep_a_quiet_stream_open_past_the_stall_period() -> None:
    # 40 heartbeats 10 ms apart outlast a 60 ms stall limit only if each one counts.
    fake = FakeMastodon(mastodon_timeline(5), heartbeats_only=40, heartbeat_s=0.01, gap=0)
    async with deployed(fake) as (web, _):
        src = source(web, heartbeat_s=0.02, stall_beats=3)
        posts = await collect(src, 5)
    assert len(posts) == 5
    assert src.health.reconnects == 1  # the one end of the heartbeat-only response


async def test_edits_of_counted_posts_are_seen_not_recounted() -> None:
    never_seen = {**mastodon_status(999), "edited_at": "2024-03-04T12:00:00Z"}
    never_seen["content"] = "<p>edited before we saw it: toxic waste</p>"
    fake = FakeMastodon(
        mastodon_timeline(200),
        edit_every=5,
        raw_events=[f"event: status.update\ndata: {orjson.dumps(never_seen).decode()}\n\n"],
        per_connection=1000,
    )
    async with deployed(fake) as (web, _):
        src = source(web)
        posts = await collect(src, 201)
    assert len({p.id for p in posts}) == 201  # 200 statuses + the edit of one we never had
    assert src.health.edits == fake.edits_sent == 39
    assert [p.text for p in posts if "edited" in p.text] == ["edited before we saw it: toxic waste"]


def test_awkward_statuses_read_as_people_see_them() -> None:
    texts = {i: parse_status(mastodon_status(i), "social.example", NOW)[1] for i in range(1, 6)}
    assert texts[1].text == "CW: waste\nStatus 1 on #DumpGate toxic waste & more"
    assert texts[2].text == "Status 2 on #DumpGate toxic waste & more @bob"
    assert texts[3].text == (
        "Status 3 on #DumpGate toxic waste & more https://news.example/reports/2024/dump"
    )
    assert texts[4].text == "Status 4 on #DumpGate toxic waste & more :blobcat:"
    assert texts[5].text == "Status 5 on #DumpGate toxic waste & more <3 'quoted'"
    assert texts[5].lang == ""  # null language: still counted (README, languages)


def test_the_fallback_status_id_keeps_the_base_urls_scheme() -> None:
    raw = {**mastodon_status(1), "uri": None}
    _, post = parse_status(raw, "social.example", NOW, base="http://127.0.0.1:4000/")
    assert post.id == f"http://127.0.0.1:4000/statuses/{raw['id']}"
    _, post = parse_status(raw, "social.example", NOW)
    assert post.id == f"https://social.example/statuses/{raw['id']}"
