"""Fixtures for the cluster tests: a private nats-server, a posts file and its replay."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PLAYBOOKS
from tests.watcher.cluster.natsd import BINARY, NatsServer
from watcher.cli import main
from watcher.cluster.layout import Layout
from watcher.playbooks.model import Playbook, check_playbooks
from watcher.simulation import generate


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One private server for the session; each test names its own cluster on it."""
    if not os.access(BINARY, os.X_OK):
        pytest.skip(f"no nats-server at {BINARY} (Debian: apt-get install nats-server)")
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cluster_name(request: pytest.FixtureRequest) -> str:
    """Streams and buckets named after the test, so tests never share them."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[-24:] + os.urandom(2).hex()


@pytest.fixture(scope="session")
def playbooks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's playbooks and a renamed copy of each: six playbooks over the shards,
    several of them alerting."""
    folder = tmp_path_factory.mktemp("playbooks")
    for path in sorted(PLAYBOOKS.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(text, encoding="utf-8")
        copy = re.sub(r"^name: (\S+)", r"name: \1-copy", text, count=1, flags=re.M)
        (folder / f"copy-{path.name}").write_text(copy, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def posts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    posts = tmp_path_factory.mktemp("posts") / "sewage.ndjson"
    # The stream without its four weeks of lead-in: the cluster's behaviour is the same on
    # fewer posts, and each in-process worker's event loop stalls less per batch.
    start = generate.DEFAULT_START.isoformat().replace("+00:00", "")
    stream = (p for p in generate.generate("sewage") if str(p["created_at"]) >= start)
    generate.write_posts(stream, posts)
    return posts


@pytest.fixture(scope="session")
def replayed(
    tmp_path_factory: pytest.TempPathFactory, posts_file: Path, playbooks_dir: Path
) -> list[bytes]:
    """What `groundswell replay --alerts-out` writes for the posts file: the oracle."""
    alerts = tmp_path_factory.mktemp("replay") / "alerts.ndjson"
    args = ["replay", str(posts_file), "--playbooks", str(playbooks_dir), "-q"]
    assert main([*args, "--alerts-out", str(alerts)]) == 0
    lines = alerts.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 6  # the test means something only if several shards alert
    return lines


@pytest.fixture(scope="session")
def playbooks(playbooks_dir: Path) -> tuple[Playbook, ...]:
    return tuple(check_playbooks([playbooks_dir]).playbooks)


@pytest.fixture
def layout(cluster_name: str) -> Layout:
    """This test's cluster on the shared server, with a short lease TTL: the tests that
    kill, freeze or cut off a worker wait one out."""
    return Layout(name=cluster_name, lease_ttl=3.0)
