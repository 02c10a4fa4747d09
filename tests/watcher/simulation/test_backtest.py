"""Backtests, and each example playbook against its own simulated campaign (Sigma style)."""

from __future__ import annotations

import functools
import struct
from pathlib import Path

import orjson
import pytest

from tests.conftest import PLAYBOOKS
from watcher.cli import main
from watcher.playbooks.model import load_playbooks
from watcher.simulation.backtest import run_backtest
from watcher.simulation.corpus import SCENARIOS
from watcher.simulation.generate import generate

#: Each example playbook and the simulated scenario that is its own sample campaign.
OWN_SCENARIO = {
    "toxic-waste": "trafigura",
    "river-sewage": "sewage",
    "housing-evictions": "evictions",
}


@functools.cache
def scenario_lines(name: str) -> tuple[bytes, ...]:
    """Posts NDJSON lines of a simulated scenario, generated once per test session."""
    return tuple(orjson.dumps(post) for post in generate(name))


@pytest.mark.parametrize(("playbook", "scenario"), sorted(OWN_SCENARIO.items()))
def test_example_playbook_fires_on_its_own_campaign(playbook: str, scenario: str) -> None:
    [book] = load_playbooks([PLAYBOOKS / f"{playbook}.yaml"])  # passes every check
    result = run_backtest(book, scenario_lines(scenario), label=scenario)
    assert result.onset is not None
    new = [a for a in result.alerts if a.surge.kind == "new"]
    assert len(new) == 1, [a.surge.fired_at for a in result.alerts]
    delay = result.delay(new[0])
    assert delay is not None
    assert 0 < delay <= 2 * 3600  # within two hours of event time after the first post
    assert all((result.delay(a) or 0) > 0 for a in result.alerts)  # nothing before onset
    assert result.buckets[-1].start >= result.onset


def test_every_example_playbook_has_its_own_scenario() -> None:
    names = {p.name for p in load_playbooks([PLAYBOOKS])}
    assert names == set(OWN_SCENARIO)
    for scenario in OWN_SCENARIO.values():
        campaign = SCENARIOS[scenario].campaign
        assert campaign is not None
        assert OWN_SCENARIO[campaign.playbook] == scenario


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_backtest_command_prints_alerts_with_delay_and_writes_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "sewage.ndjson"
    lines = list(scenario_lines("sewage"))
    lines[5:5] = [b"{broken", b'{"id": 1}']
    posts.write_bytes(b"\n".join(lines) + b"\n")
    plot = tmp_path / "plot.png"
    args = [str(PLAYBOOKS / "river-sewage.yaml"), "--posts", str(posts), "--plot", str(plot)]
    assert main(["backtest", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("backtest: river-sewage over sewage.ndjson: 67,343 posts, ")
    assert out[0].endswith(" matched, 2 malformed, 0 late")
    assert out[1] == "onset: 2009-10-12 12:40 UTC (first post labelled 'sewage')"
    assert out[2].startswith("alerts it would have fired: ")
    assert " new    emerging " in out[3]
    assert out[3].endswith(" min after onset")
    assert out[-1] == f"plot: wrote {plot}"
    assert png_size(plot) == (1300, 900)


def test_backtest_without_labels_or_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "few.ndjson"
    posts.write_bytes(
        b'{"id": "1", "author": "a", "text": "raw sewage", "created_at": "2024-03-04T00:00:00Z"}\n'
    )
    args = [str(PLAYBOOKS / "river-sewage.yaml"), "--posts", str(posts), "--no-plot"]
    assert main(["backtest", *args]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "backtest: river-sewage over few.ndjson: 1 posts, 1 matched, 0 malformed, 0 late",
        "alerts it would have fired: none",
    ]


def test_backtest_of_a_broken_playbook_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "bad.yaml"
    book.write_text("name: bad\nwatch:\n  terms: []\n")
    with pytest.raises(SystemExit) as info:
        main(["backtest", str(book), "--posts", str(tmp_path / "none.ndjson")])
    assert info.value.code == 1
    assert capsys.readouterr().err == f"{book}:3:10: error: `watch.terms`: needs at least 1 entry\n"


def test_backtest_with_missing_posts_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.ndjson"
    assert main(["backtest", str(PLAYBOOKS / "river-sewage.yaml"), "--posts", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"groundswell: input: {missing}: cannot read: No such file or directory\n"


def test_backtest_says_when_no_post_carries_the_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "few.ndjson"
    posts.write_bytes(
        b'{"id": "1", "author": "a", "text": "raw sewage", "created_at": "2024-03-04T00:00:00Z",'
        b' "label": "sewage"}\n'
    )
    args = [str(PLAYBOOKS / "river-sewage.yaml"), "--posts", str(posts), "--no-plot"]
    assert main(["backtest", *args, "--label", "evictions"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "backtest: river-sewage over few.ndjson: 1 posts, 1 matched, 0 malformed, 0 late",
        "onset: no post is labelled 'evictions', so no alert is timed against an onset and "
        "none can be called missed",
        "alerts it would have fired: none",
    ]


def test_a_playbook_with_a_time_zone_shows_local_time_in_the_backtest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (PLAYBOOKS / "river-sewage.yaml").read_text(encoding="utf-8")
    playbook = tmp_path / "river-sewage.yaml"
    playbook.write_text(text.replace("\nrespond:\n", "\nrespond:\n  timezone: Europe/London\n"))
    posts = tmp_path / "sewage.ndjson"
    posts.write_bytes(b"\n".join(scenario_lines("sewage")) + b"\n")
    plot = tmp_path / "plot.png"
    assert main(["backtest", str(playbook), "--posts", str(posts), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert " UTC (" in out[3]
    assert " BST)  new    emerging " in out[3]  # October 2009: British summer time
    assert png_size(plot) == (1300, 900)  # with local time along the top
