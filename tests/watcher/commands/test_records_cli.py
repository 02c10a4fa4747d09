"""`groundswell alerts` and `groundswell silence` on the outbox file a real replay wrote."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import PLAYBOOKS
from watcher.cli import main


def replay(posts: Path, outbox: Path, tmp_path: Path) -> list[dict[str, object]]:
    """Replay into the outbox; the alerts replay wrote, the record to check the history by."""
    alerts = tmp_path / "alerts.ndjson"
    argv = ["replay", str(posts), "--playbooks", str(PLAYBOOKS), "--deliver", "-q"]
    assert main([*argv, "--outbox", str(outbox), "--alerts-out", str(alerts)]) == 0
    return [orjson.loads(line) for line in alerts.read_bytes().splitlines()]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_a_replayed_campaign_is_listed_shown_and_acknowledged(
    trafigura: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    fired = replay(trafigura, outbox, tmp_path)
    [campaign_id] = {str(alert["campaign_id"]) for alert in fired}
    box = ("--outbox", str(outbox))
    listed = orjson.loads(run(capsys, "alerts", "list", "--json", *box))
    assert [(c["campaign_id"], c["playbook"]) for c in listed] == [(campaign_id, "toxic-waste")]
    assert listed[0]["alerts"] == len(fired)
    assert sum(listed[0]["deliveries"].values()) == len(fired)  # console: each alert once
    table = run(capsys, "alerts", "list", "--since", "1h", *box)
    assert table.splitlines()[0].split()[:3] == ["CAMPAIGN", "PLAYBOOK", "STATE"]
    assert campaign_id in table
    final_state = str(fired[-1]["state"])
    other_state = "emerging" if final_state != "emerging" else "over"
    assert campaign_id in run(capsys, "alerts", "list", "--state", final_state, *box)
    assert "no campaigns recorded matching" in run(
        capsys, "alerts", "list", "--state", other_state, *box
    )
    assert run(capsys, "alerts", "list", "--playbook", "sewage", *box).startswith("no campaigns")
    run(capsys, "alerts", "ack", campaign_id, "--by", "rosa", *box)
    shown = run(capsys, "alerts", "show", campaign_id, *box)
    assert "acknowledged by: rosa" in shown
    assert "▲ NEW CAMPAIGN: toxic-waste  [emerging]" in shown  # the brief as sent
    assert "Ready resources:" in shown
    suppressed = shown.count("console: suppressed (update, 1 attempt): cooldown")
    assert suppressed >= 1  # the stream's second wave comes inside the cooldown
    assert shown.count("console: sent") + suppressed == len(fired)
    assert shown.rstrip().endswith("acknowledged by rosa")


def test_a_silence_keeps_a_replay_from_delivering_but_not_from_recording(
    trafigura: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    box = ("--outbox", str(outbox))
    replay_first = tmp_path / "empty.ndjson"
    replay_first.write_bytes(b"")
    replay(replay_first, outbox, tmp_path)  # an outbox file, with nothing in it yet
    silence_id = run(
        capsys, "silence", "add", "--playbook", "toxic-waste", "--for", "6h",
        "--reason", "launch at 14:00", "--by", "rosa", *box,
    ).strip()  # fmt: skip
    assert len(silence_id) == 8
    listed = run(capsys, "silence", "list", *box)
    assert silence_id in listed
    assert "launch at 14:00" in listed
    fired = replay(trafigura, outbox, tmp_path)
    [campaign] = orjson.loads(run(capsys, "alerts", "list", "--json", *box))
    assert campaign["deliveries"] == {"suppressed": len(fired)}
    shown = run(capsys, "alerts", "show", campaign["campaign_id"], *box)
    assert f"console: suppressed (new): silenced by {silence_id} (rosa: launch at 14:00)" in shown
    assert "The brief (not delivered anywhere):" in shown
    assert "expired at" in run(capsys, "silence", "expire", silence_id, *box)
    assert run(capsys, "silence", "list", *box).startswith("no active or pending silences")
    assert silence_id in run(capsys, "silence", "list", "--expired", *box)


def test_mistakes_are_one_line_each(
    trafigura: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    assert main(["alerts", "list", "--outbox", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"groundswell: records: {missing}: no outbox there")
    outbox = tmp_path / "outbox.sqlite3"
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    replay(empty, outbox, tmp_path)
    box = ("--outbox", str(outbox))
    capsys.readouterr()
    assert main(["alerts", "show", "nosuch", *box]) == 2
    assert capsys.readouterr().err == (
        "groundswell: records: no campaign 'nosuch' in the history\n"
    )
    assert main(["silence", "expire", "nosuch", *box]) == 2
    assert capsys.readouterr().err == "groundswell: records: no silence 'nosuch'\n"
    argv = ["silence", "add", "--playbook", "p", "--for", "6 hours", "--reason", "r", *box]
    assert main(argv) == 2
    assert "duration: String should match pattern" in capsys.readouterr().err
    argv = ["silence", "add", "--playbook", "p", "--until", "2020-01-01T00:00Z", "--reason", "r"]
    assert main([*argv, *box]) == 2
    assert "which is not in the future" in capsys.readouterr().err
    assert main(["alerts", "list", "--since", "a week", *box]) == 2
    assert "duration 'a week' is not a number and a unit" in capsys.readouterr().err


def test_a_silence_on_a_name_no_playbook_has_is_stored_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    replay(empty, outbox, tmp_path)
    box = ("--outbox", str(outbox), "--playbooks", str(PLAYBOOKS))
    add = ["silence", "add", "--for", "6h", "--reason", "launch", *box]
    capsys.readouterr()
    assert main([*add, "--playbook", "toxic-wast"]) == 0
    said = capsys.readouterr()
    assert said.err == (
        f"groundswell: warning: no playbook named 'toxic-wast' in {PLAYBOOKS} (there: "
        "housing-evictions, river-sewage, toxic-waste); the silence is stored, and applies "
        "only to a playbook of exactly that name\n"
    )
    assert len(said.out.strip()) == 8  # its id: stored all the same
    assert main([*add, "--playbook", "toxic-waste"]) == 0
    assert capsys.readouterr().err == ""
