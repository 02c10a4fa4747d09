"""The cluster beside the single process, in the same run: posts/s and CPU-seconds per post.

    python -m bench.cluster                    # 200k posts; 20 and 1,000 playbooks; 1 and 2 workers
    python -m bench.cluster --posts 50000      # quicker
    python -m bench.cluster --playbooks 1000   # one playbook count (results.json keeps the other)

For each playbook count: `groundswell replay` of the file (a subprocess: its wall time and
its CPU time), then the same file published into a private nats-server (`ingest`, timed on
its own) and read by 1 and then 2 `groundswell worker` processes over 8 shards, from start
until every shard has committed a checkpoint of the whole stream. Worker CPU is user+system
of the worker processes (interpreter start-up included, as for replay); the broker's CPU is
read from /proc for the same interval and printed apart.

Two rates for the cluster, both printed: *end to end* (all the posts over that whole wall
time: start-up, loading the playbooks, the final checkpoint included, as replay's figure
includes its start-up), and *steady* (what a running deployment sees: posts/s from the
moment every shard is held by the worker that keeps it to the moment every shard has
applied the last batch of posts, read from the workers' `/metrics` shard positions every
0.1 s, and the workers' CPU per post over that window from /proc; the flush after the last
batch and its checkpoint are left out, a checkpoint mid-run is in). Start-up is the seconds
to that moment. Beside it, the single process's CPU per post less its start-up (the CPU of
replaying an empty file with the same playbooks, subtracted).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientError, ClientSession

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


@dataclass(frozen=True)
class Sample:
    """One look at every worker's `/metrics`: who holds which shard, at which position."""

    at: float  # perf_counter seconds
    cpu: float  # the workers' CPU seconds so far
    owners: tuple[int, ...]  # per shard: the worker's index, -1 while nobody holds it
    positions: tuple[int, ...]  # per shard: the last sequence applied (0 while not held)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def look(session: ClientSession, ports: list[int], pids: list[int]) -> Sample:
    owners, positions = [-1] * SHARDS, [0] * SHARDS
    at, cpu = time.perf_counter(), sum(process_cpu(pid) for pid in pids)
    for index, port in enumerate(ports):
        try:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
        except ClientError:  # not serving yet
            continue
        for line in text.splitlines():
            if line.startswith("groundswell_cluster_shard_position{"):
                shard = int(line.split('shard="', 1)[1].split('"', 1)[0])
                owners[shard], positions[shard] = index, int(float(line.rsplit(" ", 1)[1]))
    return Sample(at, cpu, tuple(owners), tuple(positions))


async def caught_up(url: str, layout: Layout, ports: list[int], pids: list[int]) -> list[Sample]:
    """Wait until every shard has committed a checkpoint of the whole stream, looking at the
    workers' metrics meanwhile."""
    nc, stores = await stores_for(url, layout)
    js = nc.jetstream()
    samples: list[Sample] = []
    try:
        last = (await js.stream_info(layout.posts_stream)).state.last_seq
        async with ClientSession() as session:
            while True:
                samples.append(await look(session, ports, pids))
                seqs = [p.seq if p else -1 for p in await pointers(stores, SHARDS)]
                if all(seq == last for seq in seqs):
                    return samples
                await asyncio.sleep(0.1)
    finally:
        await nc.close()


@dataclass(frozen=True)
class Steady:
    """The cluster once every shard is held by the worker that keeps it."""

    start_up: float  # seconds from the workers' start to that moment
    posts_per_s: float  # from then until every shard applied the last batch of posts
    cpu_us_per_post: float  # the workers' CPU over the same window, per post applied


def steady(samples: list[Sample], posts: int, started: float) -> Steady | None:
    """The steady part of a run; None when it is too short to say (under a second)."""
    last = max(max(s.positions) for s in samples)  # the flush, which a checkpoint follows
    done = next((s for s in samples if min(s.positions) >= last - 1), None)
    if done is None:
        return None
    begin = done
    for sample in reversed(samples[: samples.index(done)]):
        if sample.owners != done.owners:
            break
        begin = sample
    if done.at - begin.at < 1.0:
        return None
    applied = (min(done.positions) - min(begin.positions)) / (last - 1) * posts
    return Steady(
        begin.at - started,
        applied / (done.at - begin.at),
        (done.cpu - begin.cpu) / applied * 1e6,
    )


@dataclass(frozen=True)
class Run:
    ingest: float  # seconds to publish the file
    wall: float  # seconds from the workers' start to every shard's last checkpoint
    cpu: float  # the workers' CPU seconds
    broker: float  # the broker's CPU seconds meanwhile
    steady: Steady | None


def cluster(
    server: NatsServer, name: str, posts: Path, playbooks: Path, workers: int, count: int
) -> Run:
    """Ingest `posts`, then run `workers` workers over them until all is checkpointed."""
    common = ["--nats", server.url, "--cluster-name", name]
    started = time.perf_counter()
    subprocess.run(
        groundswell("ingest", *common, "--source", f"file:{posts}"),
        env=ENV, check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ingest = time.perf_counter() - started
    assert server.process is not None
    ports = [free_port() for _ in range(workers)]
    broker, cpu, started = process_cpu(server.process.pid), children_cpu(), time.perf_counter()
    worker = groundswell("worker", *common, "--playbooks", str(playbooks), "--shards", str(SHARDS))
    procs = [
        subprocess.Popen([*worker, "--metrics-port", str(port)], env=ENV, stderr=subprocess.DEVNULL)
        for port in ports
    ]
    pids = [proc.pid for proc in procs]
    samples = asyncio.run(caught_up(server.url, Layout(name=name), ports, pids))
    wall = time.perf_counter() - started
    broker = process_cpu(server.process.pid) - broker
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait()
    return Run(ingest, wall, children_cpu() - cpu, broker, steady(samples, count, started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--terms", type=int, default=50)
    parser.add_argument("--span-hours", type=float, default=1.0)
    parser.add_argument(
        "--playbooks", type=int, nargs="+", default=[20, 1000], help="playbook counts (20 1000)"
    )
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="gs-bench-cluster-") as tmp:
        work = Path(tmp)
        server = NatsServer(work / "nats")
        server.start()
        try:
            for count in args.playbooks:
                folder = work / f"playbooks-{count}"
                groups = write_playbooks(folder, count, args.terms)
                data = work / f"posts-{count}.ndjson"
                write_posts(data, args.posts, groups, span_s=args.span_hours * 3600)
                wall, cpu = single(data, folder, work / "replay.ndjson")
                base = cpu / args.posts * 1e6
                empty = work / "empty.ndjson"
                empty.write_bytes(b"")
                _, start_cpu = single(empty, folder, work / "replay-empty.ndjson")
                marginal = (cpu - start_cpu) / args.posts * 1e6
                row = {"single_posts_per_s": round(args.posts / wall),
                       "single_cpu_us_per_post": round(base, 2),
                       "single_start_up_cpu_s": round(start_cpu, 2),
                       "single_marginal_cpu_us_per_post": round(marginal, 2)}  # fmt: skip
                print(f"{count:5d} playbooks, single process: {args.posts / wall:>9,.0f} "
                      f"posts/s, {base:6.2f} CPU-µs/post; less its start-up ({start_cpu:.1f} "
                      f"CPU-s, replaying an empty file) {marginal:.2f} CPU-µs/post")  # fmt: skip
                for workers in (1, 2):
                    name = f"bench{count}w{workers}"
                    run = cluster(server, name, data, folder, workers, args.posts)
                    us, broker_us = run.cpu / args.posts * 1e6, run.broker / args.posts * 1e6
                    row[f"w{workers}_posts_per_s"] = round(args.posts / run.wall)
                    row[f"w{workers}_cpu_us_per_post"] = round(us, 2)
                    row[f"w{workers}_broker_cpu_us_per_post"] = round(broker_us, 2)
                    row[f"w{workers}_ingest_posts_per_s"] = round(args.posts / run.ingest)
                    line = (f"{count:5d} playbooks, {workers} worker(s)    : "
                            f"{args.posts / run.wall:>9,.0f} posts/s end to end, "
                            f"{us:6.2f} CPU-µs/post (×{us / base:.2f} of single), "
                            f"broker {broker_us:.2f} CPU-µs/post; "
                            f"ingest {args.posts / run.ingest:,.0f} posts/s")  # fmt: skip
                    if (calm := run.steady) is not None:
                        row[f"w{workers}_steady_posts_per_s"] = round(calm.posts_per_s)
                        row[f"w{workers}_steady_cpu_us_per_post"] = round(calm.cpu_us_per_post, 2)
                        row[f"w{workers}_start_up_s"] = round(calm.start_up, 2)
                        line += (f"\n{'':31}steady {calm.posts_per_s:,.0f} posts/s, "
                                 f"{calm.cpu_us_per_post:.2f} CPU-µs/post "
                                 f"(×{calm.cpu_us_per_post / marginal:.2f} of single's "
                                 f"less start-up), after {calm.start_up:.1f} s of "
                                 "start-up")  # fmt: skip
                    print(line)
                row["bytes_per_post"] = round(data.stat().st_size / args.posts, 1)
                rows[str(count)] = row
        finally:
            server.stop()
    if "1000" in rows:
        per_post = rows["1000"]["bytes_per_post"]
        for workers in (1, 2, 4, 8):  # every worker reads the whole stream
            print(f"model: {workers} workers at 150,000 posts/s read "
                  f"{workers * 150_000 * per_post / 1e6:,.0f} MB/s from the broker")  # fmt: skip
    record("cluster", {"posts": args.posts, "shards": SHARDS, "terms": args.terms, **rows},
           partial=True)  # fmt: skip


if __name__ == "__main__":
    main()
