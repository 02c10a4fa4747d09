"""Slow clients at the descriptor limit (issue 14, D5): a real `groundswell run` process
with 1,024 file descriptors, 1,100 clients that never finish their request line, and
/healthz still answered, with one log line for the dropped clients and no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

pytestmark = pytest.mark.timeout(120)

LIMIT = 1_024
SLOW_CLIENTS = 1_100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def at_the_limit() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


async def healthz(port: int) -> int:
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as resp,
    ):
        return resp.status


async def answering(port: int, proc: asyncio.subprocess.Process) -> None:
    while proc.returncode is None:
        with contextlib.suppress(aiohttp.ClientError, OSError):
            if await healthz(port) == 200:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the service exited before answering")


async def test_healthz_answers_with_the_descriptors_full_of_slow_clients(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < SLOW_CLIENTS + 100:
        pytest.skip(f"this test process may open only {hard} files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * LIMIT)), hard))
    posts = tmp_path / "posts.ndjson"
    posts.write_bytes(b"")
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "watcher", "run", "--source", f"file:{posts}", "--http-port",
        str(port), "--state", str(tmp_path / "state.db"), "--outbox", str(tmp_path / "o.db"),
        "--no-reload",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=at_the_limit,
    )  # fmt: skip
    writers: list[asyncio.StreamWriter] = []
    try:
        await answering(port, proc)
        for _ in range(SLOW_CLIENTS):
            with contextlib.suppress(OSError):  # the server may close one as we open it
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /heal")
                writers.append(writer)
        assert len(writers) > LIMIT  # more slow clients than the service has descriptors
        assert await healthz(port) == 200
    finally:
        for writer in writers:
            writer.close()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        log = err.decode()
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    dropped = [line for line in log.splitlines() if "see groundswell_http_clients_dropped" in line]
    assert 1 <= len(dropped) <= 3  # logged at most once a minute, not once per client
