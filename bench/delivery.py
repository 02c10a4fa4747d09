"""Delivery speed: brief building, Block Kit rendering, and outbox → Slack round trips.

Runs against the local fake Slack Web API from the tests (no network). Prints figures only;
nothing here asserts a speed.

    .venv/bin/python -m bench.delivery [--campaigns 50] [--updates 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from responders.alert import Alert
from responders.brief.brief import build_brief
from responders.slack.blocks import top_message
from tests.conftest import PLAYBOOKS
from tests.responders.conftest import surge
from tests.responders.fake_slack import TOKEN, FakeSlack
from watcher.playbooks.model import load_playbooks
from watcher.service.delivery import DeliveryConfig, build_delivery

STATES = ("escalating", "peaked", "subsiding", "over")


def per_call(fn: object, n: int) -> float:
    assert callable(fn)
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n


async def main(campaigns: int, updates: int) -> None:
    playbook = load_playbooks([PLAYBOOKS / "housing-evictions.yaml"])[0]
    quiet_off = playbook.respond.model_copy(update={"cooldown_minutes": 0.0})
    playbook = playbook.model_copy(update={"respond": quiet_off})  # every update is a reply
    texts = tuple(f"Is this eviction notice legal? need a lawyer for flat {i}" for i in range(300))
    s = replace(surge(), playbook=playbook.name, texts=texts)
    brief_s = per_call(lambda: build_brief(s, playbook.respond), 50)
    alert = Alert(s, build_brief(s, playbook.respond))
    render_s = per_call(lambda: top_message(alert), 500)
    print(f"brief (TF-IDF over {len(playbook.respond.resources)} resources, 300 posts): "
          f"{brief_s * 1e3:.2f} ms")  # fmt: skip
    print(f"render top message: {render_s * 1e3:.3f} ms")

    fake = FakeSlack()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    with tempfile.TemporaryDirectory() as tmp:
        config = DeliveryConfig(
            outbox=Path(tmp) / "outbox.db", slack_token=TOKEN, slack_api_url=url
        )
        delivery = build_delivery([playbook], config)
        latencies = []
        started = time.perf_counter()
        for c in range(campaigns):
            base = replace(s, campaign_id=f"{playbook.name}-{c}")
            events = [base] + [
                replace(base, kind="update", state=STATES[i % 4],
                        fired_at=base.fired_at + timedelta(minutes=5 * (i + 1)))
                for i in range(updates)
            ]  # fmt: skip
            for event in events:
                t = time.perf_counter()
                await delivery.dispatcher.send(Alert(event, alert.brief))
                latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        await delivery.aclose()
    await runner.cleanup()
    n = len(latencies)
    q = statistics.quantiles(latencies, n=20)
    print(
        f"outbox → fake Slack: {n} alerts ({campaigns} campaigns, {len(fake.calls)} API calls) "
        f"in {elapsed:.2f}s = {n / elapsed:.0f} alerts/s; per alert p50 {q[9] * 1e3:.1f} ms, "
        f"p95 {q[18] * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--updates", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.campaigns, args.updates))
