"""Workers as real processes, to kill -9, SIGSTOP and SIGCONT them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def spawn_worker(
    url: str, cluster: str, playbooks: Path, log: Path, ttl: float
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "watcher", "worker", "--nats", url, "--cluster-name", cluster]
    args += ["--playbooks", str(playbooks), "--lease-ttl", str(ttl), "--checkpoint-batches", "5"]
    args += ["--checkpoint-seconds", "0"]  # checkpoints mid-stream, where the kills land
    with log.open("ab") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO)
