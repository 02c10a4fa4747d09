"""Real tools for the ops tests: Debian's prometheus/promtool, docker-compose and hadolint.

`make test` installs the Debian packages when they are missing and it runs as root
(`make test-deps`); elsewhere these tests skip and say how to get the tool.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "groundswell.json"


def tool(name: str, how: str) -> str:
    """The path of an installed tool, or skip the test, saying how to install it."""
    # hadolint comes as a wheel in the venv, which may not be on PATH when pytest is run by path.
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed: {how}")
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool("promtool", "run `make test-deps` as root (apt-get install prometheus)")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return tool("prometheus", "run `make test-deps` as root (apt-get install prometheus)")


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    """Run a command; fail with its output when it exits non-zero."""
    done = subprocess.run(
        args, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout + done.stderr


def free_port() -> int:
    """A port nothing listens on now (the tiny race until it is bound is acceptable here)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
