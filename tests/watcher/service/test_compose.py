"""The `make run` demo (`watcher.service.compose.demo_source`): its first alert names a voice
found in the surge, with the reason, as the console prints it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from responders.brief.voices import FOUND
from responders.channels.console import render
from tests.conftest import PLAYBOOKS
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import load_playbooks
from watcher.service.compose import DEMO_SCENARIO, demo_source
from watcher.simulation import ecosystem


@pytest.mark.slow
def test_the_demos_first_alert_shows_a_found_voice_with_its_reason(tmp_path: Path) -> None:
    demo_source(tmp_path)  # writes the demo's posts, as `make run` does
    lines = (tmp_path / f"demo-{DEMO_SCENARIO}.ndjson").read_bytes().splitlines()
    engine = Engine(load_playbooks([PLAYBOOKS]))
    engine.feed_lines(lines)
    engine.flush()
    first = engine.drain_alerts()[0]
    assert first.surge.kind == "new"
    found = [v for v in first.brief.voices if v.why.startswith(FOUND)]
    assert found, "the demo's first alert names no found voice"
    labels = ecosystem.labels(first.surge.playbook, seed=0)
    assert all(labels[v.title][0] == "voice" for v in found)  # never a never-name account
    reason = found[0].why.removeprefix(FOUND)
    assert reason.startswith("reshared or replied to by ")
    assert " people in this surge; has posted on toxic waste " in reason
    assert " weeks; " in reason
    assert reason.endswith(" followers")
    assert reason in render(first)
    # the demo's warm-up covers the weeks of lead-in, so the surge itself plays in real time
    first_post = orjson.loads(lines[0])["created_at"]
    assert first_post < "2009-09-14"
