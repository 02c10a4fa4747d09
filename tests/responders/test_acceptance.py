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

from tests.conftest import MINI_PLAYBOOK, T0, rfc3339
from tests.responders.fake_slack import TOKEN, FakeSlack

Server = tuple[FakeSlack, str]
CHANNELS = {"waste": "#alerts", "floods": "#floods"}
FLOODS = """\
name: floods
watch:
  terms: [flood warning, "#floodwatch"]
detect:
  warmup_hours: 2
respond:
  slack: {channel: "#floods"}
  cooldown_minutes: 0
"""


def surge(start: float, text: str, n: int, tag: str) -> list[dict[str, object]]:
    """A leaderless crowd that keeps going for an hour, then fades, so updates follow."""
    posts: list[dict[str, object]] = []
    for i in range(n):
        at = start + i * (3 if i < n // 2 else 30)
        posts.append({"id": f"{tag}{i}", "author": f"{tag}-person{i}", "text": f"{text} {i}"})
        posts[-1]["created_at"] = rfc3339(at)
    return posts


@pytest.fixture(scope="module")
def two_campaigns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two playbooks with a surge each, hours apart, over a quiet on-topic background."""
    tmp = tmp_path_factory.mktemp("acceptance")
    (tmp / "playbooks").mkdir()
    (tmp / "playbooks" / "waste.yaml").write_text(MINI_PLAYBOOK, encoding="utf-8")
    (tmp / "playbooks" / "floods.yaml").write_text(FLOODS, encoding="utf-8")
    posts: list[dict[str, object]] = []
    for minute in range(0, 14 * 60, 15):
        at = T0 + minute * 60
        posts.append({"id": f"w{minute}", "author": f"reg{minute % 5}", "text": "toxic waste"})
        posts.append({"id": f"f{minute}", "author": f"obs{minute % 5}", "text": "flood warning"})
        posts[-2]["created_at"] = posts[-1]["created_at"] = rfc3339(at)
    posts += surge(T0 + 6 * 3600, "Stop the gag order on toxic waste! #dumpgate", 240, "a")
    posts += surge(T0 + 9 * 3600, "Flood warning ignored, homes under water #floodwatch", 240, "b")
    posts.sort(key=lambda p: str(p["created_at"]))
    out = tmp / "posts.ndjson"
    out.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in posts))
    return out, tmp / "playbooks"


async def replay(
    data: tuple[Path, Path], url: str, outbox: Path, alerts: Path
) -> asyncio.subprocess.Process:
    posts, playbooks = data
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": url}
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "watcher", "replay", str(posts), "-q", "--deliver"),
        *("--playbooks", str(playbooks), "--outbox", str(outbox), "--alerts-out", str(alerts)),
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
        # each update redrew the top message; after a kill, a job that was in flight on the
        # other channel's lane (they drain side by side) is redone, redrawing once more
        assert len(updates) <= top.edits <= len(updates) + 1
        assert 0 < len(fake.replies(top)) <= len(updates)  # quiet ones only edit
        assert top.text.startswith(f"Campaign on {playbook} ({updates[-1]['state']})")
    assert set(keys(fake).values()) == {1}  # nothing posted twice


async def test_replay_deliver_survives_429s_and_500s(
    fake_slack: Server, two_campaigns: tuple[Path, Path], tmp_path: Path
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
    fake_slack: Server, two_campaigns: tuple[Path, Path], tmp_path: Path
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
