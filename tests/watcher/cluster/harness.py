"""Run a whole cluster in this process: ingest a file, N workers, one deliverer.

Each part has its own connection, as separate processes would. `settle` waits until every
shard's committed checkpoint has applied the whole posts stream and the deliverer has acked
every alert: a condition, not a sleep, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
from nats.aio.client import Client
from nats.js.errors import KeyNotFoundError
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from responders.alert import Alert
from tests.responders.fake_slack import TOKEN, FakeSlack, serving
from watcher.cluster.checkpoints import Pointer
from watcher.cluster.deliver import AlertsFile, Deliverer
from watcher.cluster.ingest import Published, publish_file
from watcher.cluster.layout import Layout, Stores, connect, open_stores
from watcher.cluster.metrics import serve
from watcher.cluster.worker import Worker
from watcher.playbooks.model import Playbook
from watcher.service.delivery import DeliveryConfig, DeliveryStack, build_delivery

SETTLE_TIMEOUT = 90.0


async def stores_for(url: str, layout: Layout) -> tuple[Client, Stores]:
    nc = await connect(url, "test")
    return nc, await open_stores(nc.jetstream(), layout)


async def ingest(url: str, layout: Layout, posts: Path, spec: str | None = None) -> Published:
    nc, stores = await stores_for(url, layout)
    try:
        return await publish_file(
            nc.jetstream(), layout, stores, spec or f"file:{posts}", posts, "ingest-test"
        )
    finally:
        await nc.close()


@dataclass
class Running:
    """A worker task and what it needs to be stopped."""

    worker: Worker
    nc: Client
    stop: asyncio.Event
    task: asyncio.Task[int]

    async def halt(self) -> int:
        self.stop.set()
        code = await self.task
        await self.nc.close()
        return code


async def start_worker(
    url: str, layout: Layout, playbooks: Sequence[Playbook], owner: str, *, shards: int = 8
) -> Running:
    nc, stores = await stores_for(url, layout)
    worker = Worker(
        nc, nc.jetstream(), layout, stores, playbooks, owner, shards=shards, checkpoint_seconds=0
    )
    stop = asyncio.Event()
    return Running(worker, nc, stop, asyncio.create_task(worker.run(stop)))


@dataclass
class Delivering:
    deliverer: Deliverer
    stack: DeliveryStack
    alerts: AlertsFile
    nc: Client
    stop: asyncio.Event
    task: asyncio.Task[None]
    console: io.StringIO = field(default_factory=io.StringIO)

    async def halt(self) -> None:
        self.stop.set()
        await self.task
        self.alerts.close()
        await self.stack.aclose()
        await self.nc.close()


async def start_deliver(
    url: str, layout: Layout, playbooks: Sequence[Playbook], folder: Path, **config: object
) -> Delivering:
    nc, stores = await stores_for(url, layout)
    console = io.StringIO()
    settings = DeliveryConfig(outbox=folder / "outbox.sqlite3", console=console, **config)  # type: ignore[arg-type]
    stack = build_delivery(playbooks, settings, retry_first=0.01)
    alerts = AlertsFile(folder / "alerts.ndjson")
    deliverer = Deliverer(
        nc.jetstream(),
        layout,
        stores,
        stack.dispatcher,
        alerts,
        "deliver-test",
        outbox=stack.outbox,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(deliverer.run(stop))
    return Delivering(deliverer, stack, alerts, nc, stop, task, console)


async def pointers(stores: Stores, shards: int) -> list[Pointer | None]:
    out: list[Pointer | None] = []
    for shard in range(shards):
        try:
            entry = await stores.state.get(f"checkpoint.shard-{shard}")
        except KeyNotFoundError:
            out.append(None)
            continue
        out.append(Pointer.decode(entry.value or b""))
    return out


async def settle(url: str, layout: Layout, *, shards: int = 8, deliverer: bool = True) -> None:
    """Wait until every shard committed the whole posts stream and (with a `deliverer`)
    every alert is acked."""
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    seen: object = None
    try:
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while True:
                last = (await js.stream_info(layout.posts_stream)).state.last_seq
                seqs = [p.seq if p else -1 for p in await pointers(stores, shards)]
                seen = (last, seqs)
                if all(seq == last for seq in seqs) and not deliverer:
                    return
                if all(seq == last for seq in seqs):
                    try:
                        info = await js.consumer_info(
                            layout.alerts_stream, f"{layout.name}-deliver"
                        )
                    except Exception:
                        info = None
                    seen = (last, seqs, info)
                    if info is not None and info.num_pending == 0 and info.num_ack_pending == 0:
                        return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not settled: (last seq, shard seqs[, consumer]) = {seen}") from None
    finally:
        await nc.close()


def outbox_rows(path: Path) -> list[tuple[object, ...]]:
    """The outbox's alerts as (key, responder, playbook, campaign, kind, fired_at, alert)."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT key, responder, playbook, campaign_id, kind, fired_at, alert FROM outbox"
        ).fetchall()
    db.close()
    return sorted(rows)


def by_playbook(lines: Sequence[bytes]) -> dict[str, list[bytes]]:
    """Alert lines per playbook, in order: within a playbook the cluster keeps replay's order."""
    out: dict[str, list[bytes]] = {}
    for line in lines:
        out.setdefault(orjson.loads(line)["playbook"], []).append(line)
    return out


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


async def slack_of_one_delivery(
    alerts: Sequence[Alert], playbooks: Sequence[Playbook], folder: Path
) -> list[tuple[str, str, str]]:
    """What Slack receives when `alerts` are delivered once, by one process: the oracle."""
    async with serving() as (fake, url):
        config = DeliveryConfig(
            outbox=folder / "oracle.sqlite3", slack_token=TOKEN, slack_api_url=url
        )
        stack = build_delivery(playbooks, config, retry_first=0.01)
        stack.dispatcher.enqueue_all(alerts)
        await stack.dispatcher.drain()
        await stack.aclose()
        return slack_traffic(fake)


def slack_traffic(fake: FakeSlack) -> list[tuple[str, str, str]]:
    """Every successful Slack call as (method, channel, text), in a comparable order."""
    return sorted(
        (c.method, str(c.body.get("channel", "")), str(c.body.get("text", "")))
        for c in fake.calls
        if c.body.get("_answered") == "ok" and c.method.startswith("chat.")
    )


@dataclass(frozen=True)
class Scraped:
    """One real scrape of a cluster process's `/metrics` and `/readyz`."""

    samples: dict[tuple[str, str], float]  # (sample name, shard label or "") -> value
    ready: int  # /readyz status code
    faults: list[str]


async def scrape(collector: Collector, faults: Callable[[], Sequence[str]]) -> Scraped:
    """Serve `collector` and `faults` as the commands do (`--metrics-port`), on a free port,
    and read them back over HTTP."""
    runner = await serve(collector, faults, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/metrics") as answer:
                text = await answer.text()
            async with http.get(f"{url}/readyz") as answer:
                ready, body = answer.status, await answer.json()
    finally:
        await runner.cleanup()
    samples = {
        (s.name, s.labels.get("shard", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return Scraped(samples, ready, body["faults"])
