"""A real Prometheus scrapes a real Groundswell replaying a simulated campaign; then every
PromQL query of the Grafana dashboard and of the alerting rules runs against it.

Groundswell runs as `groundswell run` in a subprocess (as in docker-compose) on the
`trafigura` scenario, paced so the surge arrives after several 1 s scrapes. Prometheus runs
from Debian's package with its own config, port and data directory, and loads the real rule
file. Both are stopped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import PLAYBOOKS
from tests.ops.conftest import DASHBOARD, PROMETHEUS_DIR, free_port, run
from watcher.simulation import generate

#: Event time replayed per wall second: 90 h of posts in about 8 s, the surge after about 6 s.
SPEED = 40_000
#: How Grafana would fill the dashboard's variables over a short test: windows that hold
#: several 1 s scrapes, and every label value (the "All" option), as a regex alternation.
INTERVALS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1m"}
#: Panels whose series exist only once someone clicks a Slack button (the outbox has no
#: feedback rows before): their queries must still parse and evaluate, but may be empty here.
NEEDS_A_CLICK = {"panel 'Button feedback per playbook' A"}
#: The Cluster row's queries read this job's metrics only (test_live_prometheus_cluster).
CLUSTER_METRIC = "groundswell_cluster_"
#: An alert rule is `SIGNAL OP THRESHOLD` (see deploy/prometheus/rules.yml).
ALERT_SHAPE = re.compile(r"(?P<signal>.+?)\s*(?:==|!=|>=|<=|>|<)\s*-?[0-9.]+", re.S)


@dataclass
class Stack:
    prometheus: str  # base URL
    groundswell: str
    http: aiohttp.ClientSession
    logs: Path

    async def query(self, promql: str) -> dict[str, Any]:
        async with self.http.get(f"{self.prometheus}/api/v1/query", params={"query": promql}) as r:
            body: dict[str, Any] = await r.json()
            return body

    async def values(self, promql: str) -> list[dict[str, Any]]:
        body = await self.query(promql)
        assert body["status"] == "success", f"{promql}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def until(self, promql: str, what: str) -> None:
        """Poll until `promql` returns data; pytest-timeout bounds it, with the logs on failure."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                while not await self.values(promql):  # noqa: ASYNC110 - no event to wait on
                    await asyncio.sleep(0.5)
                return
        logs = "\n".join(p.read_text()[-2000:] for p in sorted(self.logs.glob("*.log")))
        pytest.fail(f"waited 60 s for {what} ({promql}); logs:\n{logs}")


@contextlib.asynccontextmanager
async def process(*args: str, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start a process with its output to `log`; on exit SIGTERM it, then SIGKILL if it hangs."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(*args, stdout=out, stderr=out)
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


def prometheus_config(tmp: Path, target: str) -> Path:
    """The deployed config, scraping `target` every second, with the deployed rules."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS_DIR / rule) for rule in config["rule_files"]]
    # the single process's job; the cluster's finds compose services by DNS, none here
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "groundswell"]
    job["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [job]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.asynccontextmanager
async def stack(tmp: Path, prometheus_bin: str) -> AsyncIterator[Stack]:
    posts = tmp / "trafigura.ndjson"
    # the stream itself, without its weeks of lead-in, so the surge comes within a minute
    start = generate.DEFAULT_START.isoformat().replace("+00:00", "")
    stream = (p for p in generate.generate("trafigura") if str(p["created_at"]) >= start)
    generate.write_posts(stream, posts)
    gs_port, prom_port = free_port(), free_port()
    config = prometheus_config(tmp, f"127.0.0.1:{gs_port}")
    prometheus = (
        prometheus_bin,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
        "--log.level=warn",
    )
    groundswell = (
        *(sys.executable, "-m", "watcher", "run", "--playbooks", str(PLAYBOOKS)),
        *("--source", f"file:{posts}?speed={SPEED}", "--http-port", str(gs_port)),
        *("--state", str(tmp / "state.sqlite"), "--outbox", str(tmp / "outbox.sqlite3")),
        "--no-reload",
    )
    async with (
        aiohttp.ClientSession() as http,
        process(*prometheus, log=tmp / "prometheus.log"),
    ):
        live = Stack(f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{gs_port}", http, tmp)
        await wait_ready(live)
        async with process(*groundswell, log=tmp / "groundswell.log"):
            yield live


async def wait_ready(live: Stack) -> None:
    async with asyncio.timeout(30):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with live.http.get(f"{live.prometheus}/-/ready") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)


def dashboard_queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and annotation of the dashboard."""
    board = json.loads(DASHBOARD.read_text())
    for annotation in board["annotations"]["list"]:
        if "expr" in annotation:
            yield f"annotation {annotation['name']!r}", annotation["expr"]
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]


def template_variables() -> list[tuple[str, str, str]]:
    """(name, selector, label) of each `label_values(selector, label)` variable, in order.

    The data source variable is left out: PromQL never sees it, Grafana sends it as the uid.
    """
    board = json.loads(DASHBOARD.read_text())
    found = []
    for var in board["templating"]["list"]:
        if var["type"] == "datasource":
            continue
        match = re.fullmatch(r"label_values\((\w+(?:\{[^}]*\})?),\s*(\w+)\)", var["query"])
        assert match, f"variable {var['name']}: unexpected query {var['query']!r}"
        found.append((var["name"], match[1], match[2]))
    return found


def substitute(expr: str, substitutions: dict[str, str]) -> str:
    """`expr` with Grafana's variables replaced, longest name first ($instance before $i...)."""
    for variable, value in sorted(substitutions.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(variable, value)
    return expr


def rules(group: str | None = None) -> list[dict[str, Any]]:
    """The rules of rules.yml, or of its `group` only."""
    groups = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())["groups"]
    return [rule for g in groups if group in (None, g["name"]) for rule in g["rules"]]


async def check_rule_signals(live: Stack, group: str) -> tuple[int, list[str]]:
    """Evaluate every rule of `group` on the live server, and its SIGNAL (the alert's
    expression without its final comparison): (rules checked, signals that had no data)."""
    empty, checked = [], 0
    for rule in rules(group):
        name = rule.get("alert") or rule["record"]
        await live.values(rule["expr"])  # parses and evaluates on the real server
        checked += 1
        signal = rule["expr"]
        if "alert" in rule:
            shape = ALERT_SHAPE.fullmatch(rule["expr"].strip())
            assert shape, f"alert {name}: expr is not `SIGNAL OP THRESHOLD`"
            signal = shape["signal"]
        if not await live.values(signal):
            empty.append(f"rule {name}: {signal}")
    return checked, empty


async def rule_health(live: Stack) -> dict[str, tuple[str, str]]:
    """How Prometheus's own evaluation of each loaded rule went: (health, last error)."""
    async with live.http.get(f"{live.prometheus}/api/v1/rules") as resp:
        loaded = (await resp.json())["data"]["groups"]
    return {r["name"]: (r["health"], r.get("lastError", "")) for g in loaded for r in g["rules"]}


def promql_regex(values: list[str]) -> str:
    """Grafana's "All" for a multi-value variable: the escaped values joined by |."""
    return "|".join(re.escape(v).replace("\\", "\\\\") for v in sorted(values))


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_every_dashboard_and_rule_query_returns_data(
    tmp_path: Path, prometheus_bin: str, promtool: str
) -> None:
    async with stack(tmp_path, prometheus_bin) as live:
        # The surge fired an alert after Prometheus had scraped the counter at 0, deliveries
        # were timed, and the replay ran to its end: the whole story is in the TSDB.
        await live.until("increase(groundswell_alerts_total[1m]) > 0", "a campaign alert")
        await live.until("groundswell_delivery_seconds_count > 0", "a timed delivery")
        await live.until("groundswell_source_finished == 1", "the end of the replay")
        await live.until("count_over_time(groundswell_source_finished[1m]) > 2", "more scrapes")

        substitutions = dict(INTERVALS)
        for name, selector, label in template_variables():  # each may use the ones before
            query = substitute(selector, substitutions)
            found = {s["metric"][label] for s in await live.values(query)}
            assert found, f"variable ${name}: no {label} values in {query}"
            substitutions[f"${name}"] = promql_regex(sorted(found))
        empty, checked = [], 0
        for where, expr in dashboard_queries():
            if CLUSTER_METRIC in expr:  # the Cluster row: test_live_prometheus_cluster
                continue
            promql = substitute(expr, substitutions)
            assert "$" not in promql, f"{where}: unsubstituted variable in {promql}"
            checked += 1
            if not await live.values(promql) and where not in NEEDS_A_CLICK:
                empty.append(f"{where}: {promql}")

        # the cluster's rules are checked on a live cluster (test_live_prometheus_cluster)
        rules_checked, rules_empty = await check_rule_signals(live, "groundswell-ops")
        checked += rules_checked
        empty += rules_empty
        assert not empty, "queries that returned no data:\n" + "\n".join(empty)
        assert checked >= 30

        # Prometheus evaluates the same rules itself (the cluster's too, to nothing here):
        # all healthy, none failing to evaluate.
        assert await rule_health(live) == {r["alert"]: ("ok", "") for r in rules()}

        async with live.http.get(f"{live.groundswell}/metrics") as resp:
            scrape = await resp.text()
        run(promtool, "check", "metrics", stdin=scrape)
