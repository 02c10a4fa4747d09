"""Errors and warnings: a warning never stops a playbook, an error stops only its own.

The issue's case: `sewage` added above `raw sewage` used to stop `run`, `replay` and
`backtest` for every playbook. Now it is a warning: the playbook loads and pages; a playbook
with an error is skipped while the others alert; `--strict` refuses instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry

from tests.conftest import MINI_PLAYBOOK, PLAYBOOKS, REPO
from tests.watcher.playbooks.test_reload import QueueSource, save, save_until
from watcher.cli import main
from watcher.playbooks.model import check_playbooks
from watcher.service.service import Service, Wiring
from watcher.settings import HttpSettings, Settings

BROKEN = "name: broken\nwatch:\n  terms: [a]\n  exclud: [b]\n"


@pytest.fixture(scope="module")
def sewage_posts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "sewage.ndjson"
    assert main(["simulate", "--scenario", "sewage", "--out", str(out)]) == 0
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The river-sewage example with `sewage` added above `raw sewage`, and a broken file."""
    books = tmp_path / "playbooks"
    books.mkdir()
    text = (PLAYBOOKS / "river-sewage.yaml").read_text(encoding="utf-8")
    assert "\n    - raw sewage\n" in text
    edited = text.replace("\n    - raw sewage\n", "\n    - sewage\n    - raw sewage\n", 1)
    (books / "river-sewage.yaml").write_text(edited, encoding="utf-8")
    return books


def new_alerts(path: Path) -> list[str]:
    alerts = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return [a["playbook"] for a in alerts if a["kind"] == "new"]


def test_a_covered_term_is_a_warning_and_check_passes(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = folder / "river-sewage.yaml"
    assert main(["check", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"{book}:12:7: warning: `watch.terms[1]`: 'raw sewage' is already covered by "
        "`watch.terms[0]` 'sewage' (every post that mentions 'raw sewage' also mentions "
        "'sewage'), so it adds nothing; remove it"
    )
    assert all(": warning: " in line for line in out[:-1])
    assert out[-1] == "ok: river-sewage (15 terms)"
    assert main(["check", "--strict", str(folder)]) == 1


def test_a_playbook_with_a_warning_loads_and_pages(
    folder: Path, sewage_posts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = tmp_path / "alerts.ndjson"
    args = ["replay", str(sewage_posts), "--playbooks", str(folder), "--alerts-out", str(alerts)]
    assert main([*args, "-q"]) == 0
    assert new_alerts(alerts) == ["river-sewage"]
    assert f"{folder / 'river-sewage.yaml'}:12:7: warning: " in capsys.readouterr().err


def test_a_playbook_with_an_error_is_skipped_while_the_others_alert(
    folder: Path, sewage_posts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    alerts = tmp_path / "alerts.ndjson"
    args = ["replay", str(sewage_posts), "--playbooks", str(folder), "--alerts-out", str(alerts)]
    assert main([*args, "-q"]) == 0
    assert new_alerts(alerts) == ["river-sewage"]
    err = capsys.readouterr().err.splitlines()
    broken = folder / "broken.yaml"
    assert err[0] == f"{broken}:4:3: error: unknown key `exclud` — did you mean `exclude`?"
    assert f"skipping {broken}: it has errors; the other playbooks run" in err


def test_strict_refuses_to_start_on_a_warning(
    folder: Path, sewage_posts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = tmp_path / "alerts.ndjson"
    book = folder / "river-sewage.yaml"
    for args in (
        ["replay", str(sewage_posts), "--playbooks", str(folder), "--alerts-out", str(alerts)],
        ["backtest", str(book), "--posts", str(sewage_posts), "--no-plot"],
        ["run", "--playbooks", str(folder), "--http-port", "0"],
    ):
        with pytest.raises(SystemExit) as info:
            main([*args, "--strict"])
        assert info.value.code == 1
        err = capsys.readouterr().err
        assert err.endswith("--strict: 0 errors and 6 warnings in the playbooks; not starting\n")
    assert not alerts.exists()


def test_nothing_starts_when_every_playbook_has_an_error(
    tmp_path: Path, sewage_posts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["replay", str(sewage_posts), "--playbooks", str(tmp_path)])
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'broken.yaml'}:4:3: error: unknown key `exclud` — did you mean `exclude`?\n"
    )


def test_a_name_used_twice_skips_the_later_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINI_PLAYBOOK)
    (tmp_path / "b.yaml").write_text(MINI_PLAYBOOK)
    checked = check_playbooks([tmp_path])
    assert [p.name for p in checked.playbooks] == ["waste"]
    assert checked.skipped == (str(tmp_path / "b.yaml"),)


async def readyz(port: int) -> dict[str, object]:
    """`/readyz` once ready (a source connects just after the server starts); it stays 200
    while degraded. pytest-timeout bounds the wait."""
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                body: dict[str, object] = await resp.json()
            if body["ready"]:
                assert resp.status == 200
                return body
            await asyncio.sleep(0.05)


async def test_a_skipped_playbook_degrades_readiness_until_a_reload_takes_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = tmp_path / "waste.yaml", tmp_path / "other.yaml"
    save(good, MINI_PLAYBOOK)
    save(bad, BROKEN)
    checked = check_playbooks([tmp_path])
    assert checked.skipped == (str(bad),)
    registry = CollectorRegistry()
    service = Service(
        checked.playbooks,
        [QueueSource()],
        [],
        Settings(http=HttpSettings(port=0), reload_debounce_ms=50),
        Wiring(registry=registry, watch=[tmp_path], skipped=checked.skipped),
    )

    def sample(name: str) -> float | None:
        return registry.get_sample_value(name)

    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="groundswell")
    async with service:
        runner = asyncio.create_task(service.run(stop))
        body = await readyz(service.port)
        assert (body["status"], body["skipped_playbooks"]) == ("degraded", [str(bad)])
        assert sample("groundswell_playbooks_skipped") == 1.0

        # fixed, with a warning: a warning does not block the reload, and nothing is skipped
        fixed = BROKEN.replace("name: broken", "name: other").replace(
            "exclud: [b]", "exclude: [b]\n  all_of: [[a]]"
        )
        await save_until(bad, fixed, lambda: len(service.engine.playbooks) == 2)
        body = await readyz(service.port)
        assert (body["status"], body["skipped_playbooks"]) == ("ready", [])
        assert sample("groundswell_playbooks_skipped") == 0.0
        assert sample("groundswell_playbook_reload_failures_total") == 0.0
        stop.set()
        await asyncio.wait_for(runner, 15)
    warnings = {r.getMessage() for r in caplog.records if r.levelno == logging.WARNING}
    assert f"{bad}:5:12: warning: `watch.all_of[0]` narrows nothing: every post that mentions " \
        "one of the terms already mentions a term of this group; remove the group, or the " \
        "terms it shares with `watch.terms`" in warnings  # fmt: skip


async def test_run_skips_a_broken_playbook_and_says_so_on_readyz(tmp_path: Path) -> None:
    (tmp_path / "toxic-waste.yaml").write_bytes((PLAYBOOKS / "toxic-waste.yaml").read_bytes())
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "watcher", "run", "--playbooks", str(tmp_path), "--http-port", "0",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.stderr is not None
    log: list[str] = []
    port = 0
    try:
        async for raw in proc.stderr:
            log.append(raw.decode())
            if found := re.search(r"http://127\.0\.0\.1:(\d+)", log[-1]):
                port = int(found.group(1))
                break
        assert port, "".join(log)
        body = await readyz(port)
        assert body["status"] == "degraded"
        assert body["skipped_playbooks"] == [str(tmp_path / "broken.yaml")]
        assert body["playbooks"] == 1
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            assert "groundswell_playbooks_skipped 1.0" in await resp.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    assert f"skipping {tmp_path / 'broken.yaml'}: it has errors; the other playbooks run\n" in log
