"""`Engine.replace_playbooks`: what survives a playbook change and what starts afresh."""

from __future__ import annotations

from detectors import CampaignDetector
from tests.conftest import MINI_PLAYBOOK, T0, PostFactory
from tests.watcher.pipeline.test_engine import background, crowd, lines
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import parse_playbook

OTHER = "name: other\nwatch:\n  terms: [raw sewage]\n"


def test_respond_edit_keeps_state_and_changes_the_brief(make_post: PostFactory) -> None:
    engine = Engine([parse_playbook(MINI_PLAYBOOK)])
    engine.feed_lines(lines(background(make_post, 6)))
    runtime, detector = engine.runtimes[0], engine.runtimes[0].detector
    edited = parse_playbook(MINI_PLAYBOOK.replace("Our dumping report", "New report"))
    assert engine.replace_playbooks([edited]) == {"waste": "kept"}
    assert engine.runtimes[0] is runtime
    assert runtime.detector is detector
    engine.feed_lines(lines(crowd(make_post, T0 + 6 * 3600, 200)))
    engine.flush()
    [new] = [a for a in engine.drain_alerts() if a.surge.kind == "new"]
    assert new.to_json()["resources"][0]["title"] == "New report"


def test_changed_terms_reset_only_that_playbook(make_post: PostFactory) -> None:
    engine = Engine([parse_playbook(MINI_PLAYBOOK), parse_playbook(OTHER)])
    engine.feed_lines(lines(background(make_post, 2)))
    waste, other = engine.runtimes
    changed = parse_playbook(OTHER.replace("[raw sewage]", "[raw sewage, storm overflow]"))
    added = parse_playbook(OTHER.replace("name: other", "name: added"))
    outcome = engine.replace_playbooks([parse_playbook(MINI_PLAYBOOK), changed, added])
    assert outcome == {"waste": "unchanged", "other": "reset", "added": "added"}
    assert engine.runtimes[0] is waste
    assert engine.runtimes[1] is not other
    # New and reset playbooks count from the bucket holding the watermark.
    start = engine.watermark - engine.watermark % engine.runtimes[2].width
    assert engine.runtimes[1].first_start == engine.runtimes[2].first_start == start
    engine.feed_lines(lines([make_post(engine.watermark, "a storm overflow again")]))
    assert engine.stats.matched["other"] == 1


def test_removed_playbook_stops_matching(make_post: PostFactory) -> None:
    engine = Engine([parse_playbook(MINI_PLAYBOOK), parse_playbook(OTHER)])
    assert engine.replace_playbooks([parse_playbook(OTHER)]) == {
        "other": "unchanged",
        "waste": "removed",
    }
    engine.feed_lines(lines([make_post(T0, "toxic waste"), make_post(T0, "raw sewage")]))
    assert engine.stats.matched == {"waste": 0, "other": 1}


def test_a_new_time_zone_resets_the_baseline_onto_local_days() -> None:
    engine = Engine([parse_playbook(OTHER)])
    before = engine.runtimes[0].detector
    assert isinstance(before, CampaignDetector)
    assert before.volume.days.zone == ""
    zoned = parse_playbook(OTHER + "respond:\n  timezone: America/New_York\n")
    assert engine.replace_playbooks([zoned]) == {"other": "reset"}
    after = engine.runtimes[0].detector
    assert isinstance(after, CampaignDetector)
    assert after.volume.days.zone == "America/New_York"
