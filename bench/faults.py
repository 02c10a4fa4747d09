"""Faults against a real `groundswell run --source ingest` process, on loopback.

    python -m bench.faults            # every fault; --only gap,ids to pick some

Each fault gets a fresh service (the example playbooks, its own state and outbox) and this
process, on the other core, applies it while a probe asks `/healthz` every 100 ms. Printed
for each: alerts delivered / detected (the service's own `groundswell_deliveries_total` and
`groundswell_alerts_total`; its console channel delivers, as no Slack token is set), the
service's RSS before and at peak (`VmRSS`, `VmHWM` from /proc), and the slowest and median
`/healthz` answer while the fault ran. The campaign is the simulated Trafigura stream
(`groundswell simulate --scenario trafigura`) moved to end now. A full disk is `replay
--deliver` onto a size-limited tmpfs (root only). Restarts during a Slack outage are
measured by tests/responders/test_restart.py, which asserts delivered == detected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record
from bench.live import free_port, metrics_text, wait_ready
from watcher.simulation.generate import write

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YEAR = 365 * 86400.0


@dataclass
class Figures:
    """What one fault did to the service."""

    name: str
    detected: float = 0.0
    delivered: float = 0.0
    new: float = 0.0  # of the detected, how many opened a campaign
    suppressed: float = 0.0  # of the detected, held back on purpose (cooldown, snooze)
    rss_mb: float = 0.0
    peak_mb: float = 0.0
    healthz_ms: list[float] = field(default_factory=list)
    note: str = ""

    def line(self) -> str:
        worst = max(self.healthz_ms, default=float("nan"))
        median = statistics.median(self.healthz_ms) if self.healthz_ms else float("nan")
        return (
            f"{self.name:<28} alerts {self.delivered:>3.0f}/{self.detected:<3.0f} "
            f"({self.new:.0f} new, {self.suppressed:.0f} suppressed) "
            f"RSS {self.rss_mb:>6.0f} → peak {self.peak_mb:>6.0f} MB   /healthz max "
            f"{worst:>7.1f} ms, p50 {median:>5.1f} ms  {self.note}"
        )


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = {}
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = row.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def sample(metrics: str, name: str, **labels: str) -> float:
    total = 0.0
    for row in metrics.splitlines():
        if row.startswith(name) and all(f'{k}="{v}"' in row for k, v in labels.items()):
            total += float(row.rsplit(" ", 1)[1])
    return total


def campaign(before: float = 0.0) -> list[bytes]:
    """The simulated Trafigura stream moved to end a minute ago, in batches of 2,000."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posts.ndjson"
        write("trafigura", path)
        posts = [orjson.loads(row) for row in path.read_bytes().splitlines()]
    end = max(datetime.fromisoformat(p["created_at"]).timestamp() for p in posts)
    shift = datetime.now(UTC).timestamp() - 60 - end
    for post in posts:
        post["created_at"] = datetime.fromisoformat(post["created_at"]).timestamp() + shift
    lines = [orjson.dumps(p) for p in posts]
    if before:
        first = {"id": "old", "author": "a", "text": "toxic waste sewage eviction"}
        lines.insert(0, orjson.dumps({**first, "created_at": posts[0]["created_at"] - before}))
    return [b"\n".join(lines[i : i + 2_000]) for i in range(0, len(lines), 2_000)]


class Service:
    """One `groundswell run --source ingest` process and its address."""

    def __init__(self, work: Path, *, files: int | None = None) -> None:
        self.work, self.port, self.files = work, free_port(), files
        self.base = f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Service:
        limit = self.files

        def at_limit() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "watcher", "run", "--source", "ingest", "--http-port",
            str(self.port), "--state", str(self.work / "state.db"), "--outbox",
            str(self.work / "outbox.db"), "--no-reload",
            env={**os.environ, "GROUNDSWELL_INGEST_TOKEN": TOKEN},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=at_limit,
        )  # fmt: skip
        await wait_ready(self.base)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.proc.terminate()
        await asyncio.wait_for(self.proc.wait(), 60)


async def probe(base: str, out: list[float], stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        while not stop.is_set():
            started = time.perf_counter()
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as resp:
                    await resp.read()
            out.append((time.perf_counter() - started) * 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


async def post_all(base: str, bodies: list[bytes], senders: int = 1) -> dict[int, int]:
    """POST each body to /ingest, `senders` at a time; how many answers had each status."""
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:

        async def sender() -> None:
            while queue:
                body = queue.pop()
                async with http.post(f"{base}/ingest", data=body, headers=AUTH) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1

        await asyncio.gather(*(sender() for _ in range(senders)))
    return statuses


async def under(
    name: str, work: Path, fault: Callable[[Service], Awaitable[str]], **service: int
) -> Figures:
    """Run `fault` against a fresh service with the probe going; collect the figures."""
    figures = Figures(name)
    async with Service(work, **service) as svc:
        figures.rss_mb = memory(svc.proc.pid)[0]
        stop = asyncio.Event()
        prober = asyncio.create_task(probe(svc.base, figures.healthz_ms, stop))
        figures.note = await fault(svc)
        await asyncio.sleep(1.0)  # the last batches' buckets and deliveries
        stop.set()
        await prober
        figures.peak_mb = memory(svc.proc.pid)[1]
        text = await metrics_text(svc.base)
        figures.detected = sample(text, "groundswell_alerts_total")
        figures.delivered = sample(text, "groundswell_deliveries_total", outcome="sent")
        figures.suppressed = sample(text, "groundswell_deliveries_total", outcome="suppressed")
        figures.new = sample(text, "groundswell_alerts_total", kind="new")
    return figures


def flood(field_name: str, size: int, per_body: int, bodies: int) -> list[bytes]:
    now = datetime.now(UTC).timestamp()
    out = []
    for b in range(bodies):
        rows = []
        for i in range(per_body):
            post = {"id": f"{b}-{i}", "author": "a", "text": "toxic waste", "created_at": now}
            post[field_name] = f"{b}-{i}-" + "x" * size
            rows.append(orjson.dumps(post))
        out.append(b"\n".join(rows))
    return out


async def stalled(svc: Service, clients: int) -> str:
    writers = []
    for _ in range(clients):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", svc.port)
            writer.write(b"GET /heal")
            writers.append(writer)
    await asyncio.sleep(2.0)
    for writer in writers:
        writer.close()
    return f"{len(writers)} stalled clients at a {svc.files} descriptor limit"


def full_disk(work: Path) -> Figures:
    figures = Figures("full outbox disk (replay)")
    if os.geteuid() != 0:
        figures.note = "skipped: mounting a tmpfs needs root"
        return figures
    posts, disk = work / "posts.ndjson", work / "disk"
    write("trafigura", posts)
    disk.mkdir()

    def mount(options: str) -> None:
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(disk)], check=True)

    def replay() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watcher", "replay", str(posts), "--deliver", "--outbox",
             str(disk / "outbox.db"), "--alerts-out", str(work / "alerts.ndjson")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    mount("size=160k")
    try:
        first = replay()
        mount("remount,size=16m")
        second = replay()
        with sqlite3.connect(disk / "outbox.db") as db:
            rows = dict(db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    figures.detected = sum(rows.values())
    figures.delivered, figures.suppressed = rows.get("sent", 0), rows.get("suppressed", 0)
    figures.note = (
        f"full: exit {first.returncode}, {first.stderr.strip().splitlines()[-1][:60]}…; "
        f"space back: exit {second.returncode}"
    )
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated fault names")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    results: list[Figures] = []

    async def skewed(svc: Service) -> str:
        now = datetime.now(UTC).timestamp()
        ahead = orjson.dumps({"id": "a", "author": "a", "text": "toxic waste",
                              "created_at": now + 240, "source": "fast"})  # fmt: skip
        behind = b"\n".join(
            orjson.dumps(
                {
                    "id": f"b{i}",
                    "author": f"b{i}",
                    "text": "toxic waste",
                    "created_at": now - 120 + i,
                    "source": "slow",
                }
            )
            for i in range(100)
        )
        reports = []
        async with aiohttp.ClientSession() as http:
            for body in (ahead, behind):
                async with http.post(f"{svc.base}/ingest", data=body, headers=AUTH) as resp:
                    reports.append(await resp.json())
        return f"100 posts 2 min behind a feed 4 min ahead: late {reports[1]['late']}"

    faults: dict[str, Callable[[Path], Awaitable[Figures]]] = {
        "campaign": lambda w: under(
            "campaign, no fault", w, lambda s: note(post_all(s.base, campaign()))
        ),
        "gap": lambda w: under(
            "a year-old post, then now", w, lambda s: note(post_all(s.base, campaign(YEAR)))
        ),
        "ids": lambda w: under(
            "flood: 16 KiB ids",
            w,
            lambda s: note(post_all(s.base, flood("id", 16 * 1024, 480, 60), 4)),
        ),
        "authors": lambda w: under(
            "flood: 64 KiB authors",
            w,
            lambda s: note(post_all(s.base, flood("author", 64 * 1024, 120, 60), 4)),
        ),
        "bodies": lambda w: under(
            "40 concurrent 8 MiB bodies",
            w,
            lambda s: note(post_all(s.base, flood("text", 4_000, 2_000, 40), 40)),
        ),
        "slow": lambda w: under("slow clients", w, lambda s: stalled(s, 1_100), files=1_024),
        "skew": lambda w: under("skewed feeds via /ingest", w, skewed),
    }
    for name, run in faults.items():
        if wanted and name not in wanted:
            continue
        with tempfile.TemporaryDirectory(prefix="gs-faults-") as tmp:
            figures = await run(Path(tmp))
        print(figures.line(), flush=True)
        results.append(figures)
    if not wanted or "disk" in wanted:
        with tempfile.TemporaryDirectory(prefix="gs-faults-") as tmp:
            figures = full_disk(Path(tmp))
        print(figures.line(), flush=True)
        results.append(figures)
    record(
        "faults",
        {
            f.name: {
                "delivered": f.delivered,
                "suppressed": f.suppressed,
                "detected": f.detected,
                "new": f.new,
                "rss_mb": round(f.rss_mb),
                "peak_rss_mb": round(f.peak_mb),
                "healthz_max_ms": round(max(f.healthz_ms, default=0.0), 1),
                "note": f.note,
            }
            for f in results
        },
        partial=bool(wanted),
    )


async def note(sending: Awaitable[dict[int, int]]) -> str:
    statuses = await sending
    return "answers " + ", ".join(f"{n}× {code}" for code, n in sorted(statuses.items()))


if __name__ == "__main__":
    asyncio.run(main())
