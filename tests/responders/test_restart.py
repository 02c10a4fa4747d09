"""Acceptance: `groundswell run` stopped during a Slack outage, or killed while Slack is slow,
then started again with Slack healthy, delivers every detected alert exactly once.

Each run is a real process reading a posts file, with `--state` and `--outbox`, talking HTTP
to the fake Slack. The figures are read where they live: alerts detected from the service's
own `/metrics`, alerts delivered from what the fake Slack accepted (each message carries its
outbox key), NDJSON lines from the file the NDJSON channel wrote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.conftest import MINI_PLAYBOOK, T0, rfc3339
from tests.responders.fake_slack import TOKEN, FakeSlack
from tests.responders.test_acceptance import surge

Server = tuple[FakeSlack, str]


@dataclass
class Files:
    posts: Path
    playbooks: Path
    config: Path
    state: Path
    outbox: Path
    ndjson: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def files(tmp: Path, *, checkpoint_seconds: float) -> Files:
    """A playbook that pings on every alert (no cooldown), to Slack and to an NDJSON file,
    and a file with a campaign that grows, peaks and ends over a quiet background."""
    (tmp / "playbooks").mkdir()
    ndjson = tmp / "alerts.ndjson"
    playbook = MINI_PLAYBOOK.replace(
        'respond:\n  slack: {channel: "#alerts"}',
        f'respond:\n  slack: {{channel: "#alerts"}}\n  ndjson: {{path: "{ndjson}"}}\n'
        "  cooldown_minutes: 0",
    )
    (tmp / "playbooks" / "waste.yaml").write_text(playbook, encoding="utf-8")
    posts: list[dict[str, object]] = []
    for minute in range(0, 14 * 60, 15):
        posts.append({"id": f"w{minute}", "author": f"reg{minute % 5}", "text": "toxic waste"})
        posts[-1]["created_at"] = rfc3339(T0 + minute * 60)
    posts += surge(T0 + 6 * 3600, "Stop the gag order on toxic waste! #dumpgate", 240, "a")
    posts.sort(key=lambda p: str(p["created_at"]))
    path = tmp / "posts.ndjson"
    path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in posts))
    config = tmp / "service.yaml"
    config.write_text(
        f"sources: ['file:{path}']\ncheckpoint_seconds: {checkpoint_seconds}\n"
        "drain_seconds: 1\nreload: false\n",
        encoding="utf-8",
    )
    return Files(path, tmp / "playbooks", config, tmp / "state.db", tmp / "outbox.db", ndjson)


@dataclass
class Run:
    proc: asyncio.subprocess.Process
    port: int

    async def scrape(self) -> dict[str, float]:
        """The service's /metrics: each series, and each family summed over its labels."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            text = await response.text()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                name = series.split("{")[0]
                if name != series:
                    out[series] = float(value)  # with its labels, and summed over them:
                out[name] = out.get(name, 0.0) + float(value)
        return out

    async def idle(self) -> dict[str, float]:
        """Wait until the file is read and the engine has every batch, then the metrics."""
        while True:
            try:
                m = await self.scrape()
            except aiohttp.ClientError:  # not serving yet
                m = {}
            # the engine runs on the loop, so an answer with the queue empty comes after it
            posts_waiting = m.get('groundswell_queue_depth{queue="posts"}')
            if m.get("groundswell_source_finished") == 1 and posts_waiting == 0:
                return m
            await asyncio.sleep(0.05)

    async def checkpointed_after(self, at: float) -> float:
        """Wait for a checkpoint written after `at` (epoch seconds); when it was written."""
        while True:
            written = time.time() - (await self.scrape())["groundswell_checkpoint_age_seconds"]
            if written > at:
                return written
            await asyncio.sleep(0.02)

    async def stop(self, sig: int) -> str:
        self.proc.send_signal(sig)
        _, err = await self.proc.communicate()
        return err.decode()


async def start(f: Files, url: str) -> Run:
    port = _free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": url}
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "watcher", "run", "--config", str(f.config)),
        *("--playbooks", str(f.playbooks), "--state", str(f.state), "--outbox", str(f.outbox)),
        *("--http-port", str(port), "--host", "127.0.0.1"),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return Run(proc, port)


async def until(done: Callable[[], bool]) -> None:
    """Poll `done` (the test's timeout bounds the wait)."""
    while True:
        if done():
            return
        await asyncio.sleep(0.02)


def delivered(fake: FakeSlack) -> Counter[str]:
    """Alert keys Slack accepted a message for (one message per alert: no cooldown)."""
    return Counter(
        str(m.metadata["event_payload"]["key"]) for m in fake.messages if m.metadata is not None
    )


async def drained(run: Run) -> dict[str, float]:
    """Wait until the file is read and the outbox has nothing left to send."""
    while True:
        m = await run.idle()
        if m.get("groundswell_outbox_depth", 1) == 0:
            return m
        await asyncio.sleep(0.05)


@pytest.mark.timeout(90)
async def test_sigterm_during_a_slack_outage_loses_nothing(
    fake_slack: Server, tmp_path: Path
) -> None:
    fake, url = fake_slack
    f = files(tmp_path, checkpoint_seconds=60)
    fake.trouble("chat.postMessage", *[("500",)] * 10_000)  # Slack is down for the first run
    first = await start(f, url)
    detected = (await first.idle())["groundswell_alerts_total"]
    err = await first.stop(signal.SIGTERM)
    assert first.proc.returncode == 0, err
    assert detected >= 3  # a campaign that opens, grows and ends
    assert not fake.messages  # nothing got through
    assert "deliveries wait in the outbox for the next start" in err
    # the NDJSON channel did not wait behind the failing Slack
    assert len(f.ndjson.read_bytes().splitlines()) == detected

    fake.troubles.clear()  # Slack is back
    second = await start(f, url)
    again = (await drained(second))["groundswell_alerts_total"]
    err = await second.stop(signal.SIGTERM)
    assert second.proc.returncode == 0, err
    assert again == 0  # the state was restored: nothing detected twice
    keys = delivered(fake)
    print(f"SIGTERM in a Slack outage: detected {detected:g}, delivered {len(keys)}")
    assert len(keys) == detected
    assert set(keys.values()) == {1}  # each exactly once
    assert len(f.ndjson.read_bytes().splitlines()) == detected  # and the file has no copy


@pytest.mark.timeout(90)
async def test_kill_9_while_slack_is_slow_loses_nothing(fake_slack: Server, tmp_path: Path) -> None:
    fake, url = fake_slack
    f = files(tmp_path, checkpoint_seconds=0.1)
    fake.trouble("chat.postMessage", *[("slow", 3.0)] * 10_000)
    first = await start(f, url)
    detected = (await first.idle())["groundswell_alerts_total"]
    # two checkpoints more; checkpoints run one after another, so the second was taken
    # after the first was written, which was after detection ended
    first_written = await first.checkpointed_after(time.time())
    await first.checkpointed_after(first_written + 0.05)  # (they are 0.1 s apart)
    waiting = (await first.scrape())["groundswell_outbox_depth"]
    await first.stop(signal.SIGKILL)
    assert first.proc.returncode == -signal.SIGKILL
    assert detected >= 3
    assert waiting > 0  # killed with alerts not yet in Slack, past the checkpoint
    # Slack finishes what the dead process sent (it may post it) before the restart asks
    await until(lambda: all("_answered" in call.body for call in fake.calls))

    fake.troubles.clear()
    second = await start(f, url)
    again = (await drained(second))["groundswell_alerts_total"]
    err = await second.stop(signal.SIGTERM)
    assert second.proc.returncode == 0, err
    assert again == 0  # the checkpoint had passed every alert: only the outbox held them
    keys = delivered(fake)
    print(
        f"kill -9 with Slack slow: detected {detected:g} (+{again:g} after restart), "
        f"{waiting:g} waiting at the kill, delivered {len(keys)}"
    )
    assert len(keys) == detected
    assert set(keys.values()) == {1}
