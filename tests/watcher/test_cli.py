from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from tests.conftest import MINI_PLAYBOOK, PLAYBOOKS
from watcher.cli import main


def alerts_of(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def campaign_onset(posts: Path) -> str:
    labelled = (orjson.loads(line) for line in posts.read_bytes().splitlines())
    return min(str(p["created_at"]) for p in labelled if p.get("label"))


def test_replay_of_trafigura_fires_exactly_one_new_alert_after_onset(
    trafigura: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "alerts.ndjson"
    assert (
        main(["replay", str(trafigura), "--playbooks", str(PLAYBOOKS), "--alerts-out", str(out)])
        == 0
    )
    alerts = alerts_of(out)
    new = [a for a in alerts if a["kind"] == "new"]
    assert [a["playbook"] for a in new] == ["toxic-waste"]
    assert str(new[0]["fired_at"]) > campaign_onset(trafigura)
    assert {a["campaign_id"] for a in alerts} == {new[0]["campaign_id"]}
    for key in ("state", "terms", "posts", "distinct_authors", "resources", "voices", "offers"):
        assert key in new[0]
    summary = capsys.readouterr().err
    assert "1 new" in summary
    assert "posts/s" in summary


def test_replay_counts_malformed_lines_in_the_summary(
    trafigura: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "dirty.ndjson"
    lines = trafigura.read_bytes().splitlines()[:1000]
    lines[10:10] = [b"{not json", b'{"id": "x"}', b"[]"]
    posts.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["replay", str(posts), "--playbooks", str(PLAYBOOKS), "-q"]) == 0
    err = capsys.readouterr().err
    assert "replay: 1,003 posts" in err
    assert "3 malformed" in err
    assert "last malformed line: a post must be a JSON object" in err


def test_replay_of_quiet_traffic_fires_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "quiet.ndjson"
    assert main(["simulate", "--scenario", "quiet", "--out", str(posts)]) == 0
    assert main(["replay", str(posts), "--playbooks", str(PLAYBOOKS)]) == 0
    assert capsys.readouterr().out == ""


def test_check_accepts_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(PLAYBOOKS)]) == 0
    assert "ok: toxic-waste" in capsys.readouterr().out


def test_check_reports_each_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(MINI_PLAYBOOK.replace("respond:", "respnd:"))
    (tmp_path / "worse.yml").write_text("name: x\nwatch: [\n")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == f"{tmp_path / 'bad.yaml'}:9:1: error: unknown key `respnd` — did you mean `respond`?"
    )
    assert out[1].startswith(f"{tmp_path / 'worse.yml'}:3:1: error: YAML syntax:")
    assert "Traceback" not in "\n".join(out)


def test_score_series_writes_causal_scores_in_unit_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    series = tmp_path / "s.csv"
    rows = ["timestamp,value"]
    for i in range(600):
        minute = i * 5
        value = 400 if i == 500 else 50 + (i % 7)
        rows.append(
            f"2015-03-{1 + minute // 1440:02d} {minute // 60 % 24:02d}:{minute % 60:02d}:00,{value}"
        )
    series.write_text("\n".join(rows) + "\n")
    out = tmp_path / "scored.csv"
    assert main(["score-series", str(series), "--out", str(out)]) == 0
    with out.open() as handle:
        scored = list(csv.DictReader(handle))
    assert list(scored[0]) == ["timestamp", "value", "anomaly_score"]
    assert len(scored) == 600
    scores = [float(r["anomaly_score"]) for r in scored]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert [i for i, s in enumerate(scores) if s >= 0.5] == [500]
    # no look-ahead: scoring a prefix gives the same scores for that prefix
    prefix = tmp_path / "prefix.csv"
    prefix.write_text("\n".join(rows[:400]) + "\n")
    assert main(["score-series", str(prefix), "--out", str(tmp_path / "p.csv")]) == 0
    with (tmp_path / "p.csv").open() as handle:
        assert [float(r["anomaly_score"]) for r in csv.DictReader(handle)] == scores[:399]
    datetime.fromisoformat(scored[0]["timestamp"])


@pytest.mark.parametrize(
    "command", ["run", "replay", "check", "simulate", "score-series", "schema", "backtest"]
)
def test_every_subcommand_has_help(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watcher", command, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith(f"usage: groundswell {command}")


def test_committed_schema_is_current() -> None:
    from watcher.commands.schema import playbook_schema

    assert (PLAYBOOKS / "schema.json").read_bytes() == playbook_schema(), (
        "playbooks/schema.json is stale: run `groundswell schema`"
    )
