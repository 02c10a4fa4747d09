"""A real Prometheus scrapes a real cluster (two workers and a deliverer on a private
nats-server) as the compose `cluster` profile deploys it; then every query of the
cluster's ops alerts and of the dashboard's Cluster row runs against it.

The scrape job is the deployed `groundswell-cluster` one with its relabelling: only the
DNS discovery is swapped for static targets that carry the `__meta_dns_name` the discovery
would have set, so the `role` label the alerts group on comes from the deployed config.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.conftest import PLAYBOOKS, REPO
from tests.ops.conftest import PROMETHEUS_DIR, free_port, run
from tests.ops.test_live_prometheus import (
    CLUSTER_METRIC,
    INTERVALS,
    Stack,
    check_rule_signals,
    dashboard_queries,
    process,
    rule_health,
    rules,
    substitute,
    wait_ready,
)
from tests.watcher.cluster.natsd import BINARY, NatsServer
from watcher.simulation import generate

GROUP = "groundswell-cluster"


def prometheus_config(tmp: Path, targets: dict[str, list[str]]) -> Path:
    """The deployed config with only the cluster's job, scraping `targets` (role → host:port)
    every second."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_DIR / rule) for rule in config["rule_files"]]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == GROUP]
    del job["dns_sd_configs"]
    job["static_configs"] = [
        {"targets": hosts, "labels": {"__meta_dns_name": role}} for role, hosts in targets.items()
    ]
    config["scrape_configs"] = [job]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.asynccontextmanager
async def cluster_stack(tmp: Path, prometheus_bin: str) -> AsyncIterator[Stack]:
    if not os.access(BINARY, os.X_OK):
        pytest.skip(f"no nats-server at {BINARY} (Debian: apt-get install nats-server)")
    posts = tmp / "sewage.ndjson"
    start = generate.DEFAULT_START.isoformat().replace("+00:00", "")
    generate.write_posts(
        (p for p in generate.generate("sewage") if str(p["created_at"]) >= start), posts
    )
    nats = NatsServer(tmp / "nats")
    nats.start()
    ports = {"w1": free_port(), "w2": free_port(), "d": free_port()}
    config = prometheus_config(
        tmp,
        {
            "worker": [f"127.0.0.1:{ports['w1']}", f"127.0.0.1:{ports['w2']}"],
            "deliver": [f"127.0.0.1:{ports['d']}"],
        },
    )
    prom_port = free_port()
    prometheus = (
        prometheus_bin,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        "--log.level=warn",
    )
    cluster = ("--nats", nats.url, "--cluster-name", "ops")
    common = (*cluster, "--playbooks", str(PLAYBOOKS))
    groundswell = (sys.executable, "-m", "watcher")
    try:
        async with (
            aiohttp.ClientSession() as http,
            process(*prometheus, log=tmp / "prometheus.log"),
        ):
            live = Stack(f"http://127.0.0.1:{prom_port}", "", http, tmp)
            await wait_ready(live)
            async with contextlib.AsyncExitStack() as procs:
                for name in ("w1", "w2"):
                    await procs.enter_async_context(
                        process(
                            *(*groundswell, "worker", *common),
                            *("--metrics-port", str(ports[name])),
                            log=tmp / f"{name}.log",
                        )
                    )
                await procs.enter_async_context(
                    process(
                        *(*groundswell, "deliver", *common, "--outbox", str(tmp / "outbox.db")),
                        *("--metrics-port", str(ports["d"])),
                        log=tmp / "deliver.log",
                    )
                )
                await live.until(
                    "count(count by (shard) (groundswell_cluster_shard_position)) == 8",
                    "the workers holding every shard",
                )
                ingest = (*groundswell, "ingest", "--source", f"file:{posts}", *cluster)
                async with process(*ingest, log=tmp / "ingest.log") as proc:
                    assert await proc.wait() == 0
                yield live
    finally:
        nats.stop()


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_every_cluster_rule_query_returns_data(
    tmp_path: Path, prometheus_bin: str, promtool: str
) -> None:
    async with cluster_stack(tmp_path, prometheus_bin) as live:
        await live.until("groundswell_cluster_alerts_delivered_total > 0", "a delivered alert")
        await live.until(
            "count(groundswell_cluster_shard_lag_batches == 0) == 8", "every shard caught up"
        )
        # the relabelling gave every target its role
        roles = {s["metric"].get("role") for s in await live.values(f'up{{job="{GROUP}"}}')}
        assert roles == {"worker", "deliver"}

        checked, empty = await check_rule_signals(live, GROUP)
        assert checked == 5
        for where, expr in dashboard_queries():  # the dashboard's Cluster row
            if CLUSTER_METRIC in expr:
                promql = substitute(expr, INTERVALS)
                assert "$" not in promql, f"{where}: unsubstituted variable in {promql}"
                checked += 1
                if not await live.values(promql):
                    empty.append(f"{where}: {promql}")
        assert checked >= 5 + 10
        assert not empty, "queries that returned no data:\n" + "\n".join(empty)
        assert await rule_health(live) == {r["alert"]: ("ok", "") for r in rules()}
        # a healthy cluster: every shard held, a deliverer with the lease, none behind
        unowned = await live.values(rules(GROUP)[1]["expr"].rsplit(">", 1)[0])
        assert [float(s["value"][1]) for s in unowned] == [0.0]
        # (the catch-up on the file may leave ShardLagging pending for an evaluation: its
        # `for` is what keeps it from paging)
        await live.until('absent(ALERTS{alertname=~"GroundswellCluster.*"})', "no cluster alert")

        for target in await live.values(f'up{{job="{GROUP}"}}'):
            url = f"http://{target['metric']['instance']}/metrics"
            async with live.http.get(url) as resp:
                run(promtool, "check", "metrics", stdin=await resp.text(), cwd=REPO)
