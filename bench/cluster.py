"""The cluster beside the single process, in the same run: posts/s and CPU-seconds per post.

    python -m bench.cluster                    # 200k posts; 20 and 1,000 playbooks; 1 and 2 workers
    python -m bench.cluster --posts 50000      # quicker

For each playbook count: `groundswell replay` of the file (a subprocess: its wall time and
its CPU time), then the same file published into a private nats-server (`ingest`, timed on
its own) and read by 1 and then 2 `groundswell worker` processes over 8 shards, from start
until every shard has committed a checkpoint of the whole stream. Worker CPU is user+system
of the worker processes (interpreter start-up included, as for replay); the broker's CPU is
read from /proc for the same interval and printed apart. Alerts are compared with replay's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record
from bench.firehose import write_playbooks, write_posts
from tests.watcher.cluster.harness import pointers, stores_for
from tests.watcher.cluster.natsd import NatsServer
from watcher.cluster.layout import Layout

REPO = Path(__file__).resolve().parent.parent
SHARDS = 8
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def groundswell(*args: str) -> list[str]:
    return [sys.executable, "-m", "watcher", *args]


def single(posts: Path, playbooks: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds of `groundswell replay`."""
    cpu, started = children_cpu(), time.perf_counter()
    subprocess.run(
        groundswell("replay", str(posts), "--playbooks", str(playbooks), "-q", "--alerts-out",
                    str(out)),
        env=ENV, check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started, children_cpu() - cpu


async def caught_up(url: str, layout: Layout) -> None:
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    try:
        last = (await js.stream_info(layout.posts_stream)).state.last_seq
        while True:
            seqs = [p.seq if p else -1 for p in await pointers(stores, SHARDS)]
            if all(seq == last for seq in seqs):
                return
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


def cluster(
    server: NatsServer, name: str, posts: Path, playbooks: Path, workers: int
) -> tuple[float, float, float, float]:
    """Ingest seconds; then wall, worker CPU and broker CPU seconds for `workers` workers."""
    common = ["--nats", server.url, "--cluster-name", name]
    started = time.perf_counter()
    subprocess.run(
        groundswell("ingest", *common, "--source", f"file:{posts}"),
        env=ENV, check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ingest = time.perf_counter() - started
    assert server.process is not None
    broker, cpu, started = process_cpu(server.process.pid), children_cpu(), time.perf_counter()
    procs = [
        subprocess.Popen(
            groundswell("worker", *common, "--playbooks", str(playbooks), "--shards", str(SHARDS)),
            env=ENV,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    asyncio.run(caught_up(server.url, Layout(name=name)))
    wall = time.perf_counter() - started
    broker = process_cpu(server.process.pid) - broker
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait()
    return ingest, wall, children_cpu() - cpu, broker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--terms", type=int, default=50)
    parser.add_argument("--span-hours", type=float, default=1.0)
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="gs-bench-cluster-") as tmp:
        work = Path(tmp)
        server = NatsServer(work / "nats")
        server.start()
        try:
            for count in (20, 1000):
                folder = work / f"playbooks-{count}"
                groups = write_playbooks(folder, count, args.terms)
                data = work / f"posts-{count}.ndjson"
                write_posts(data, args.posts, groups, span_s=args.span_hours * 3600)
                wall, cpu = single(data, folder, work / "replay.ndjson")
                base = cpu / args.posts * 1e6
                row = {"single_posts_per_s": round(args.posts / wall),
                       "single_cpu_us_per_post": round(base, 2)}  # fmt: skip
                print(f"{count:5d} playbooks, single process: {args.posts / wall:>9,.0f} "
                      f"posts/s, {base:6.2f} CPU-µs/post")  # fmt: skip
                for workers in (1, 2):
                    name = f"bench{count}w{workers}"
                    ingest, wall, cpu, broker = cluster(server, name, data, folder, workers)
                    us, broker_us = cpu / args.posts * 1e6, broker / args.posts * 1e6
                    row[f"w{workers}_posts_per_s"] = round(args.posts / wall)
                    row[f"w{workers}_cpu_us_per_post"] = round(us, 2)
                    row[f"w{workers}_broker_cpu_us_per_post"] = round(broker_us, 2)
                    row[f"w{workers}_ingest_posts_per_s"] = round(args.posts / ingest)
                    print(f"{count:5d} playbooks, {workers} worker(s)    : "
                          f"{args.posts / wall:>9,.0f} posts/s, {us:6.2f} CPU-µs/post "
                          f"(×{us / base:.2f} of single), broker {broker_us:.2f} CPU-µs/post; "
                          f"ingest {args.posts / ingest:,.0f} posts/s")  # fmt: skip
                row["bytes_per_post"] = round(data.stat().st_size / args.posts, 1)
                rows[str(count)] = row
        finally:
            server.stop()
    per_post = rows["1000"]["bytes_per_post"]
    for workers in (1, 2, 4, 8):  # every worker reads the whole stream
        print(f"model: {workers} workers at 150,000 posts/s read "
              f"{workers * 150_000 * per_post / 1e6:,.0f} MB/s from the broker")  # fmt: skip
    record("cluster", {"posts": args.posts, "shards": SHARDS, "terms": args.terms, **rows})


if __name__ == "__main__":
    main()
