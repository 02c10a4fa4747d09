"""A full disk under the outbox: logged, counted, unready, retried, and nothing lost.

The disk is a real SQLite that answers SQLITE_FULL: `PRAGMA max_page_count` caps the outbox
file at the pages it has, so any alert stored after that fails as on a full filesystem;
raising the cap is freeing space. At start, `/dev/full` answers SQLITE_FULL to the schema.
Posts arrive over real HTTP on `/ingest`; the console channel writes into a buffer.
"""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import background, crowd, lines
from tests.watcher.service.test_service import wait_for
from watcher.playbooks.model import Playbook
from watcher.service.delivery import DeliveryConfig, build_delivery
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings
from watcher.sources.ingest import IngestSource

TOKEN = "ingest-token"


async def test_a_full_outbox_holds_alerts_and_checkpoints_until_space_returns(
    mini_playbook: Playbook,
    make_post: PostFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    console = io.StringIO()
    delivery = build_delivery([mini_playbook], DeliveryConfig(tmp_path / "out.db", console))
    db = delivery.outbox._db  # the test's disk: only this connection sees the cap
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    source = IngestSource(TOKEN)
    state = tmp_path / "state.db"
    settings = Settings(http=HttpSettings(port=0), state=state, checkpoint_seconds=0.05)
    service = Service(
        [mini_playbook],
        [source],
        [delivery.dispatcher],
        settings,
        Wiring(registry=CollectorRegistry(), outbox=delivery.outbox),
    )
    registry = service.metrics.registry
    posts = background(make_post, 6) + crowd(make_post, T0 + 6 * 3600, 200)
    # ingest holds buckets open for feeds up to 5 minutes behind: a later post closes them
    posts.append(make_post(T0 + 6 * 3600 + 1200, "lovely weather today"))
    body = b"\n".join(lines(posts)) + b"\n"

    def failures() -> float | None:
        return registry.get_sample_value("groundswell_outbox_write_failures_total")

    stop = asyncio.Event()
    caplog.set_level(logging.INFO, "groundswell")
    async with service:
        runner = asyncio.create_task(service.run(stop))
        base = f"http://127.0.0.1:{service.port}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/ingest", data=body, headers=auth) as resp:
                assert resp.status == 200
            await wait_for(lambda: bool(registry.get_sample_value("groundswell_alerts_total",
                {"playbook": "waste", "kind": "new"})))  # fmt: skip
            await wait_for(lambda: (failures() or 0) >= 2)  # the first try and a retry
            async with http.get(f"{base}/readyz") as resp:
                ready = await resp.json()
                assert resp.status == 503
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200  # alive: detection goes on
            # detection keeps running: a later batch is read and matched while it is full
            later = lines(crowd(make_post, T0 + 7 * 3600, 50))
            received = source.health.received
            async with http.post(f"{base}/ingest", data=b"\n".join(later), headers=auth) as r:
                assert (await r.json())["accepted"] == 50
            await wait_for(lambda: service.engine.stats.received >= received + 50)
            assert not console.getvalue()  # nothing went out, and nothing was checkpointed
            assert not state.exists()
            counted = failures()
            waiting = sum(
                registry.get_sample_value(
                    "groundswell_alerts_total", {"playbook": "waste", "kind": k}
                )
                or 0
                for k in ("new", "update")
            )

            db.execute("PRAGMA max_page_count = 1073741823")  # space is back
            await wait_for(lambda: "CAMPAIGN" in console.getvalue())
            await wait_for(state.exists)  # checkpoints resume once the alerts are stored
            async with http.get(f"{base}/readyz") as resp:
                assert resp.status == 200
        stop.set()
        await asyncio.wait_for(runner, 15)
    await delivery.aclose()
    assert ready["faults"][0].startswith("outbox: storing 1 alerts: database or disk is full")
    assert counted is not None
    assert counted >= 2  # each retry counted
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [  # one line for the outage, not one per retry
        "outbox write failed (storing 1 alerts): database or disk is full; retrying every 1s"
    ]
    assert waiting > 1  # the later batch was detected on while the outbox was full
    assert f"outbox writable again: {waiting:g} waiting alerts stored" in caplog.messages
    assert any(m.startswith("checkpoint held back: 1 alerts") for m in caplog.messages)


def test_a_full_disk_before_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    posts = tmp_path / "posts.ndjson"
    posts.write_bytes(b"")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "watcher", "run", "--source", f"file:{posts}"),
            *("--outbox", "/dev/full", "--state", str(tmp_path / "state.db"), "--http-port", "0"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "groundswell: outbox: /dev/full: cannot open and write it (database or disk is full);"
        " free some space or give another --outbox"
    ]
