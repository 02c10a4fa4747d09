from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from responders.alert import Alert
from tests.conftest import PLAYBOOKS
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook, load_playbooks
from watcher.service import checkpoint
from watcher.simulation.generate import generate

SPLIT = "2009-10-12T22:30"  # after the trafigura `new` alert (about 21:15), mid-campaign


@pytest.fixture(scope="module")
def trafigura() -> list[bytes]:
    return [orjson.dumps(p) for p in generate("trafigura")]


def before(lines: list[bytes]) -> Iterator[bytes]:
    return (line for line in lines if orjson.loads(line)["created_at"] < SPLIT)


def after(lines: list[bytes]) -> Iterator[bytes]:
    return (line for line in lines if orjson.loads(line)["created_at"] >= SPLIT)


def summary(alerts: list[Alert]) -> list[tuple[str, str, str, str]]:
    return [(a.surge.playbook, a.surge.kind, a.surge.state, a.surge.campaign_id) for a in alerts]


def playbooks() -> list[Playbook]:
    return load_playbooks([PLAYBOOKS])


@pytest.fixture(scope="module")
def whole(trafigura: list[bytes]) -> list[Alert]:
    """The alerts of one engine over the whole stream, without a restart."""
    engine = Engine(playbooks())
    engine.feed_lines(trafigura)
    engine.flush()
    return engine.drain_alerts()


@dataclass(frozen=True)
class FirstRun:
    """An engine stopped at SPLIT: what it alerted, its checkpoint file and its watermark."""

    alerts: list[Alert]
    state: Path
    watermark: float | None


@pytest.fixture(scope="module")
def first(trafigura: list[bytes], tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """Shared by the restart tests (one replay up to SPLIT, not one each); each only reads
    the checkpoint file."""
    engine = Engine(playbooks())
    engine.feed_lines(before(trafigura))
    state = tmp_path_factory.mktemp("first") / "state.sqlite"
    checkpoint.save(engine, state)
    return FirstRun(engine.drain_alerts(), state, engine.watermark)


def test_restart_mid_campaign_neither_realerts_nor_goes_blind(
    trafigura: list[bytes], whole: list[Alert], first: FirstRun
) -> None:
    expected = summary(whole)
    alerts = list(first.alerts)
    assert [kind for _, kind, _, _ in summary(alerts)].count("new") == 1

    second = Engine(playbooks())
    assert sorted(checkpoint.load(second, first.state)) == sorted(p.name for p in playbooks())
    second.feed_lines(after(trafigura))
    second.flush()
    alerts += second.drain_alerts()
    assert summary(alerts) == expected
    later = summary(alerts)[1:]
    assert later, "the restarted engine must keep following the campaign"
    assert all(kind == "update" for _, kind, _, _ in later)


def test_without_a_checkpoint_a_restart_would_start_cold_and_quiet(trafigura: list[bytes]) -> None:
    cold = Engine(playbooks())
    cold.feed_lines(after(trafigura))
    cold.flush()
    # twelve hours of warm-up swallow the rest of the first wave: no alert from a cold start
    assert [a for a in cold.drain_alerts() if a.surge.onset.isoformat() < "2009-10-13T06"] == []


def test_changed_detect_section_starts_that_playbook_cold(first: FirstRun) -> None:
    changed = [
        p.model_copy(update={"detect": p.detect.model_copy(update={"sensitivity": "high"})})
        if p.name == "toxic-waste"
        else p
        for p in playbooks()
    ]
    second = Engine(changed)
    restored = checkpoint.load(second, first.state)
    assert "toxic-waste" not in restored
    assert len(restored) == len(changed) - 1
    assert second.watermark == first.watermark  # the engine's own state is restored


def test_missing_file_is_a_first_start_and_junk_is_named(tmp_path: Path) -> None:
    engine = Engine(playbooks())
    assert checkpoint.load(engine, tmp_path / "none.sqlite") == []
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(checkpoint.CheckpointError, match=r"junk.sqlite: not a Groundswell state"):
        checkpoint.load(engine, junk)


def test_run_with_a_foreign_state_file_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from watcher.cli import main

    state = tmp_path / "state.sqlite"
    state.write_bytes(b"this is not a database, just some bytes " * 100)
    posts = tmp_path / "posts.ndjson"
    posts.write_text("")
    code = main(
        ["run", "--source", f"file:{posts}", "--state", str(state), "--http-port", "0",
         "--outbox", str(tmp_path / "outbox.sqlite3"), "--no-reload"]
    )  # fmt: skip
    assert code == 2
    assert any("not a Groundswell state file" in line for line in _errors(capsys))


def _run(tmp_path: Path, state: Path) -> int:
    from watcher.cli import main

    posts = tmp_path / "posts.ndjson"
    posts.write_text("")
    return main(
        ["run", "--source", f"file:{posts}", "--state", str(state), "--http-port", "0",
         "--outbox", str(tmp_path / "outbox.sqlite3"), "--no-reload"]
    )  # fmt: skip


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What `run` refused with: its one-line `groundswell: state: …` errors, unprefixed."""
    prefix = "groundswell: state: "
    lines = capsys.readouterr().err.splitlines()
    return [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]


def test_garbage_pickled_inside_a_valid_schema_is_the_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.sqlite"
    engine = Engine(playbooks())
    good = checkpoint.snapshot(engine)
    checkpoint.write(state, checkpoint.Snapshot(good.runtimes, b"\x80\x05garbage", 0.0))
    with pytest.raises(checkpoint.CheckpointError, match=r"its saved state cannot be read"):
        checkpoint.load(Engine(playbooks()), state)
    assert _run(tmp_path, state) == 2
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.startswith(f"--state {state}: its saved state cannot be read (UnpicklingError")


def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "crm.sqlite"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE customers (name TEXT)")
    db.close()
    assert _run(tmp_path, state) == 2
    assert _errors(capsys) == [
        f"--state {state}: not a Groundswell state file (it holds tables customers); "
        "pass another path"
    ]
    with pytest.raises(checkpoint.CheckpointError, match="it holds tables customers"):
        checkpoint.load(Engine(playbooks()), state)
    with sqlite3.connect(state) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
    db.close()
    assert tables == ["customers"]  # none of ours added


def test_a_state_path_in_a_missing_directory_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "no-such-dir" / "state.sqlite"
    assert _run(tmp_path, state) == 2
    assert _errors(capsys) == [
        f"--state {state}: directory {state.parent} does not exist; create it or pass another path"
    ]


def test_a_state_path_where_nothing_can_be_written_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # sysfs takes no new files, for root too (a chmod would not stop root)
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs here")
    state = Path("/sys/groundswell-state.sqlite")
    assert _run(tmp_path, state) == 2
    [error] = _errors(capsys)
    assert error.startswith(f"--state {state}: cannot write in /sys (")
    assert not (tmp_path / "outbox.sqlite3").exists()  # refused before anything started


def test_a_restored_engine_gives_the_very_same_alerts_brief_included(
    trafigura: list[bytes], whole: list[Alert], first: FirstRun
) -> None:
    """Every field, voice candidates too: they depend on who spoke before the surge, which
    the checkpoint must carry (it did not before format 5)."""
    second = Engine(playbooks())
    checkpoint.load(second, first.state)
    second.feed_lines(after(trafigura))
    second.flush()
    assert first.alerts + second.drain_alerts() == whole
