"""Acceptance: `groundswell replay … --deliver` against a fake Slack that fails, and is killed.

Each run is a real `groundswell` process talking HTTP to the fake, so SIGKILL really
interrupts delivery mid-request.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.conftest import PLAYBOOKS
from tests.responders.fake_slack import TOKEN, FakeSlack
from watcher import simulate
from watcher.matcher import Matcher
from watcher.playbook import load_playbooks

Server = tuple[FakeSlack, str]
CHANNELS = {"river-sewage": "#sewage-alerts", "housing-evictions": "#evictions-rapid-response"}


@pytest.fixture(scope="module")
def two_campaigns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sewage and an evictions surge on the same day, in one posts file.

    Posts that match no playbook only move event time on, so they are left out to keep
    the replays short; the on-topic background that sets the baselines stays.
    """
    playbooks = load_playbooks([PLAYBOOKS])
    matcher = Matcher([p.watch.terms for p in playbooks], [p.watch.exclude for p in playbooks])
    posts = [
        p
        for name in ("sewage", "evictions")
        for p in simulate.generate(name)
        if matcher.match(str(p["text"]))
    ]
    posts.sort(key=lambda p: str(p["created_at"]))
    out = tmp_path_factory.mktemp("acceptance") / "two.ndjson"
    out.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in posts))
    return out


async def replay(posts: Path, url: str, outbox: Path, alerts: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": url}
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "watcher", "replay", str(posts), "-q", "--deliver"),
        *("--playbooks", str(PLAYBOOKS), "--outbox", str(outbox), "--alerts-out", str(alerts)),
        *("--retry-first", "0.01"),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def keys(fake: FakeSlack) -> Counter[str]:
    return Counter(
        str(m.metadata["event_payload"]["key"]) for m in fake.messages if m.metadata is not None
    )


def check_conversations(fake: FakeSlack, alerts: Path) -> None:
    """One threaded conversation per campaign, in its playbook's channel, showing its end."""
    lines = [orjson.loads(line) for line in alerts.read_bytes().splitlines()]
    campaigns = {a["campaign_id"]: a["playbook"] for a in lines}
    assert sorted(campaigns.values()) == sorted(CHANNELS)
    for campaign, playbook in campaigns.items():
        [top] = fake.top_level(CHANNELS[playbook])
        assert f"`{campaign}`" in orjson.dumps(top.blocks).decode()
        updates = [a for a in lines if a["campaign_id"] == campaign and a["kind"] == "update"]
        assert top.edits == len(updates)  # each update redrew the top message
        assert 0 < len(fake.replies(top)) <= len(updates)  # quiet ones only edit
        assert top.text.startswith(f"Campaign on {playbook} ({updates[-1]['state']})")
    assert set(keys(fake).values()) == {1}  # nothing posted twice


async def test_replay_deliver_survives_429s_and_500s(
    fake_slack: Server, two_campaigns: Path, tmp_path: Path
) -> None:
    fake, url = fake_slack
    fake.trouble("chat.postMessage", ("429", 1), ("500",), ("500",))
    fake.trouble("chat.update", ("500",))
    proc = await replay(two_campaigns, url, tmp_path / "outbox.db", tmp_path / "alerts.ndjson")
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "failed 0" in err.decode()
    check_conversations(fake, tmp_path / "alerts.ndjson")
    assert [c.body.get("_answered") for c in fake.calls][:3] == ["429", "500", "500"]


async def test_a_killed_delivery_resumes_without_loss_or_duplicates(
    fake_slack: Server, two_campaigns: Path, tmp_path: Path
) -> None:
    fake, url = fake_slack
    # the third post reaches Slack, but the answer never does: the process dies waiting
    fake.trouble("chat.postMessage", ("pass",), ("pass",), ("accept_then_hang",))
    outbox, alerts = tmp_path / "outbox.db", tmp_path / "alerts.ndjson"
    first = await replay(two_campaigns, url, outbox, alerts)
    await fake.hung.wait()
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert first.returncode == -signal.SIGKILL
    fake.release.set()
    before = len(fake.messages)
    second = await replay(two_campaigns, url, outbox, alerts)
    _, err = await second.communicate()
    assert second.returncode == 0, err.decode()
    assert len(fake.messages) > before  # the rest went out on restart
    check_conversations(fake, alerts)
