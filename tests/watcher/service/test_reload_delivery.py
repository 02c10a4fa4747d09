"""A hot reload reaches delivery: a playbook added, or a channel changed, while the service
runs is delivered to without a restart, and what an old route already holds still goes out."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import orjson

from responders.alert import Alert
from responders.brief.brief import build_brief
from tests.conftest import MINI_PLAYBOOK
from tests.responders.conftest import RESPOND, surge
from tests.watcher.service.test_service import wait_for
from watcher.playbooks.model import load_playbooks
from watcher.service.delivery import DeliveryConfig, build_delivery
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings


def playbook_text(name: str, out: Path) -> str:
    text = MINI_PLAYBOOK.replace("name: waste", f"name: {name}")
    channels = f'  channels: [ndjson]\n  ndjson: {{path: "{out}"}}\n'
    return text.replace('  slack: {channel: "#alerts"}\n', channels)


def alert_for(playbook: str, campaign: str) -> Alert:
    s = dataclasses.replace(surge(campaign=campaign), playbook=playbook)
    return Alert(s, build_brief(s, RESPOND))


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


async def lines_in(path: Path, n: int) -> list[dict[str, object]]:
    await wait_for(lambda: len(lines(path)) >= n)
    return lines(path)


async def test_a_reloaded_playbook_set_is_delivered_by_its_new_routes(tmp_path: Path) -> None:
    folder, old_out, new_out = tmp_path / "playbooks", tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    folder.mkdir()
    (folder / "waste.yaml").write_text(playbook_text("waste", old_out))
    playbooks = load_playbooks([folder])
    stack = build_delivery(playbooks, DeliveryConfig(outbox=tmp_path / "outbox.sqlite3"))
    wiring = Wiring(watch=[folder], on_playbooks=stack.reroute, outbox=stack.outbox)
    settings = Settings(http=HttpSettings(port=0), drain_seconds=2)
    service = Service(playbooks, [], [stack.dispatcher], settings, wiring)
    stop = asyncio.Event()
    try:
        async with service:
            running = asyncio.create_task(service.run(stop))
            service.alerts.add([alert_for("waste", "waste-1")])
            assert [a["campaign_id"] for a in await lines_in(old_out, 1)] == ["waste-1"]

            # the edit moves waste's channel to b.ndjson and adds a playbook delivering there
            (folder / "waste.yaml").write_text(playbook_text("waste", new_out))
            (folder / "fresh.yaml").write_text(playbook_text("fresh", new_out))
            assert service.reloader is not None
            assert await service.reloader.reload()
            service.alerts.add([alert_for("fresh", "fresh-1"), alert_for("waste", "waste-2")])

            delivered = await lines_in(new_out, 2)
            assert sorted(str(a["campaign_id"]) for a in delivered) == ["fresh-1", "waste-2"]
            assert len(lines(old_out)) == 1  # the old route got no more
            stop.set()
            await running
    finally:
        await stack.aclose()
