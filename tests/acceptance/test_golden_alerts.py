"""The same alerts, byte for byte: every story and suite scenario replayed against golden files.

The golden files were written by `groundswell replay` before the layout change (issue 12)
and pin the whole alert, brief included. A change that is meant to alter detection or the
brief regenerates them with `GROUNDSWELL_UPDATE_GOLDEN=1 pytest tests/acceptance` and says so
in its commit; any other change must leave them as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PLAYBOOKS
from watcher.cli import main
from watcher.simulation import corpus, suite

GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = sorted([*corpus.SCENARIOS, *suite.SUITE])
UPDATE = os.environ.get("GROUNDSWELL_UPDATE_GOLDEN") == "1"


def test_every_scenario_has_a_golden_file() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.ndjson")) == SCENARIOS


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_replay_gives_the_golden_alerts(scenario: str, tmp_path: Path) -> None:
    posts, alerts = tmp_path / "posts.ndjson", tmp_path / "alerts.ndjson"
    assert main(["simulate", "--scenario", scenario, "--out", str(posts)]) == 0
    replay = ["replay", str(posts), "--playbooks", str(PLAYBOOKS), "-q", "--alerts-out"]
    assert main([*replay, str(alerts)]) == 0
    golden = GOLDEN / f"{scenario}.ndjson"
    if UPDATE:
        golden.write_bytes(alerts.read_bytes())
    assert alerts.read_bytes() == golden.read_bytes()
