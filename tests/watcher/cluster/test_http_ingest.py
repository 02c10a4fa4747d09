"""`groundswell ingest --source ingest`: POST /ingest into the posts stream, answered only
after the broker has the posts; a broker that does not take them gets the sender a 503, and
its retry is accepted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web
from nats.js import JetStreamContext

from tests.conftest import T0, PostFactory
from tests.watcher.cluster.harness import (
    by_playbook,
    lines_of,
    settle,
    start_deliver,
    start_worker,
    stores_for,
)
from tests.watcher.cluster.natsd import NatsServer
from watcher.cluster.batches import headers_for, split_lines
from watcher.cluster.http_ingest import ClusterIngest
from watcher.cluster.layout import Layout
from watcher.http.ingest import ingest_route
from watcher.playbooks.model import Playbook

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def serving(source: ClusterIngest) -> AsyncIterator[str]:
    """`source`'s POST /ingest on a free loopback port; its URL."""
    app = web.Application()
    app.router.add_routes([ingest_route(source)])
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/ingest"
    finally:
        await runner.cleanup()


def body_of(make_post: PostFactory, ids: list[str]) -> bytes:
    lines = [orjson.dumps(make_post(T0 + n, "toxic waste", id=i)) for n, i in enumerate(ids)]
    return b"\n".join([*lines, b"{not json"]) + b"\n"


async def stream_posts(js: JetStreamContext, layout: Layout) -> list[list[str]]:
    """The post ids of every message in the posts stream, message by message."""
    info = await js.stream_info(layout.posts_stream)
    messages = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(layout.posts_stream, seq)
        messages.append([orjson.loads(line)["id"] for line in split_lines(msg.data or b"")])
    return messages


async def test_a_body_is_in_the_stream_when_answered_and_a_resend_is_not_stored_twice(
    nats_server: NatsServer, cluster_name: str, make_post: PostFactory
) -> None:
    layout = Layout(name=cluster_name)
    nc, _ = await stores_for(nats_server.url, layout)
    js = nc.jetstream()
    first, second = ClusterIngest(js, layout, TOKEN), ClusterIngest(js, layout, TOKEN)
    body = body_of(make_post, ["a", "b", "c"])
    try:
        async with serving(first) as one, serving(second) as other, aiohttp.ClientSession() as http:
            async with http.post(one, data=body, headers={"Authorization": "Bearer no"}) as resp:
                assert resp.status == 401
            async with http.post(one, data=body, headers=AUTH) as resp:
                assert resp.status == 200
                report = await resp.json()
            assert report["accepted"] == 3
            assert report["malformed"] == 1
            assert report["late"] is None  # the workers decide it later
            assert await stream_posts(js, layout) == [["a", "b", "c"]]  # stored when answered
            async with http.post(one, data=body, headers=AUTH) as resp:
                assert (await resp.json())["duplicate"] == 3  # this ingest has seen them
            # another ingest behind the same load balancer has not, but the broker has
            async with http.post(other, data=body, headers=AUTH) as resp:
                assert (await resp.json())["accepted"] == 3
            assert second.out.duplicates == 1
            assert await stream_posts(js, layout) == [["a", "b", "c"]]
    finally:
        await nc.close()


async def test_a_broker_that_does_not_take_the_posts_gets_a_503_and_the_retry_is_kept(
    tmp_path: Path, make_post: PostFactory
) -> None:
    server = NatsServer(tmp_path / "nats")  # our own: this test stops it
    server.start()
    layout = Layout(name="http-ingest")
    nc, _ = await stores_for(server.url, layout)
    js = nc.jetstream()
    source = ClusterIngest(js, layout, TOKEN)
    body = body_of(make_post, ["x", "y"])
    try:
        async with serving(source) as url, aiohttp.ClientSession() as http:
            server.stop()
            async with http.post(url, data=body, headers=AUTH) as resp:
                assert resp.status == 503
                assert resp.headers["Retry-After"] == "1"
            server.start()  # same port, same data directory
            async with asyncio.timeout(60):
                while True:  # the sender retries as told, until the broker is back
                    async with http.post(url, data=body, headers=AUTH) as resp:
                        if resp.status == 200:
                            report = await resp.json()
                            break
                        assert resp.status == 503
                    await asyncio.sleep(1)
            assert report["accepted"] == 2  # not "duplicate": nothing was kept the first time
            assert await stream_posts(js, layout) == [["x", "y"]]
    finally:
        try:
            await nc.close()
        finally:  # a failed assertion above must not leave our server running
            server.stop()


async def test_posts_sent_over_http_give_the_cluster_replays_alerts(
    nats_server: NatsServer,
    layout: Layout,
    posts_file: Path,
    playbooks: Sequence[Playbook],
    replayed: list[bytes],
    tmp_path: Path,
) -> None:
    """Acceptance 1 through `POST /ingest`: the posts file sent in bodies of 400 lines to
    two ingests in turn (as a load balancer would), read by two workers, then the flush a
    recorded file ends with; the alerts are replay's, line for line."""
    url = nats_server.url
    nc, _ = await stores_for(url, layout)
    js = nc.jetstream()
    ingests = [ClusterIngest(js, layout, TOKEN), ClusterIngest(js, layout, TOKEN)]
    running = [await start_worker(url, layout, playbooks, f"w{n}") for n in range(2)]
    delivering = await start_deliver(url, layout, playbooks, tmp_path)
    lines = lines_of(posts_file)
    try:
        async with (
            serving(ingests[0]) as one,
            serving(ingests[1]) as other,
            aiohttp.ClientSession() as http,
        ):
            for n, start in enumerate(range(0, len(lines), 400)):
                body = b"".join(lines[start : start + 400])
                async with http.post((one, other)[n % 2], data=body, headers=AUTH) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["accepted"] == len(lines[start : start + 400])
        await js.publish(
            layout.posts_subject,
            b"",
            stream=layout.posts_stream,
            headers=headers_for("test:flush", kind="flush"),
        )
        await settle(url, layout)
    finally:
        codes = [await r.halt() for r in running]
        await delivering.halt()
        await nc.close()
    assert codes == [0, 0]
    assert sum(i.out.posts for i in ingests) == len(lines)
    alerts = lines_of(tmp_path / "alerts.ndjson")
    assert sorted(alerts) == sorted(replayed)
    assert by_playbook(alerts) == by_playbook(replayed)
