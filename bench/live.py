"""The live path: NDJSON batches POSTed to /ingest from a second process, on loopback.

    python bench/live.py            # 20 playbooks × 50 terms, 600,000 posts, 4 senders

`groundswell run --source ingest` runs as a subprocess pinned to one core; this process (on
the other core) sends batches of 1,000 posts with a few connections in flight and reports
sustained posts/s. The service measures, for every batch, the time from the request's
arrival to the engine's decision on it (`groundswell_decision_latency_seconds`); p50 and p99
are read from that histogram at the end (interpolated within its buckets).

Beside it, in this process, the cluster worker's share of the same posts: decoding one
500-post JetStream batch (`watcher.cluster.batches`' payload, split and `decode_lines`d as a
worker does before its shards' engines see it), in µs a batch and posts/s by CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record
from bench.firehose import posts, write_playbooks
from watcher.cluster.batches import line_batches, split_lines
from watcher.pipeline.decode import decode_lines

TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Interpolated quantile from cumulative (upper bound, count) histogram buckets."""
    total = buckets[-1][1]
    target = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= target:
            if upper == float("inf"):
                return lower
            share = (target - below) / (count - below) if count > below else 0.0
            return lower + (upper - lower) * share
        lower, below = upper, count
    return lower


def histogram(metrics: str, name: str) -> list[tuple[float, float]]:
    rows = []
    for line in metrics.splitlines():
        if line.startswith(f"{name}_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            rows.append((float(bound), float(line.rsplit(" ", 1)[1])))
    return rows


async def send(base: str, batches: list[bytes], senders: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}

    async def sender(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            async with http.post(f"{base}/ingest", data=body, headers=headers) as resp:
                resp.raise_for_status()
                await resp.read()

    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        await asyncio.gather(*(sender(http) for _ in range(senders)))
        return time.perf_counter() - started


async def wait_ready(base: str, deadline: float = 60.0) -> None:
    async with aiohttp.ClientSession() as http:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                async with http.get(f"{base}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the service did not become ready")


async def metrics_text(base: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
        return await resp.text()


def make_batches(n: int, groups: list[list[str]], size: int) -> list[bytes]:
    """Posts stamped around now, so the live path sees current event time."""
    now = datetime.now(UTC).timestamp()
    lines = []
    for i, line in enumerate(posts(n, groups, span_s=n / 50_000)):
        post = orjson.loads(line)
        post["created_at"] = now - 60 + i / 50_000
        lines.append(orjson.dumps(post))
    return [b"\n".join(lines[i : i + size]) + b"\n" for i in range(0, n, size)]


def worker_decode(batches: list[bytes], rounds: int = 3) -> float:
    """CPU µs for a cluster worker to decode one 500-post batch (the best of `rounds`)."""
    lines = [line for body in batches for line in body.splitlines(keepends=True)]
    payloads = [batch.payload for batch in line_batches(lines)]
    best = float("inf")
    for _ in range(rounds):
        cpu = time.process_time()
        for payload in payloads:
            decode_lines(split_lines(payload), source="ingest")
        best = min(best, (time.process_time() - cpu) / len(payloads) * 1e6)
    return best


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=600_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--playbooks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gs-live-") as tmp:
        work = Path(tmp)
        groups = write_playbooks(work / "playbooks", args.playbooks, 50)
        print(f"preparing {args.posts:,} posts …", file=sys.stderr)
        batches = make_batches(args.posts, groups, args.batch)
        port = free_port()
        command = [
            sys.executable, "-m", "watcher", "run", "--source", "ingest",
            "--playbooks", str(work / "playbooks"), "--http-port", str(port),
            "--state", str(work / "state.sqlite"), "--outbox", str(work / "outbox.sqlite3"),
            "--no-reload",
        ]  # fmt: skip
        if shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
        env = {**os.environ, "GROUNDSWELL_INGEST_TOKEN": TOKEN}
        log = (work / "service.log").open("wb")
        service = subprocess.Popen(command, env=env, stdout=log, stderr=log)  # noqa: ASYNC220
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(base)
            elapsed = await send(base, batches, args.senders)
            text = await metrics_text(base)
        finally:
            service.terminate()
            service.wait(timeout=30)
            log.close()
    buckets = histogram(text, "groundswell_decision_latency_seconds")
    rate = args.posts / elapsed
    p50, p99 = quantile(buckets, 0.5), quantile(buckets, 0.99)
    print(
        f"live ingest        : {rate:>9,.0f} posts/s sustained ({args.posts:,} posts, "
        f"batches of {args.batch}, {args.senders} connections)"
    )
    print(
        f"receipt → decision : p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"over {int(buckets[-1][1]) if buckets else 0} batches"
    )
    print("targets            : ≥ 50,000 posts/s, p99 < 1 s")
    decode_us = worker_decode(batches)
    print(
        f"worker decode      : {decode_us:,.0f} µs a 500-post batch "
        f"({500 / decode_us * 1e6:,.0f} posts/s by CPU time)"
    )
    record(
        "live",
        {
            "posts": args.posts,
            "batch": args.batch,
            "senders": args.senders,
            "posts_per_s": round(rate),
            "p50_s": round(p50, 4),
            "p99_s": round(p99, 4),
            "worker_decode_us_per_500": round(decode_us, 1),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
