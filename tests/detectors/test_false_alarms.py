""" "Not a campaign" feedback: the detector gets stricter, the strictness fades and is capped."""

from __future__ import annotations

import pickle

from detectors.campaign import (
    FALSE_ALARM_HALF_LIFE_S,
    FALSE_ALARM_STEP,
    MAX_STRICTNESS,
    CampaignDetector,
)
from tests.detectors.test_campaign import PARAMS, STEP, quiet, surge, transitions

#: Nine posts a bucket by eight people against a baseline of 0-4 scores about 3.5: past the
#: `medium` crowd significance (2.0) and its 1.75× but not its 2×.
MODEST = [9] * 4


def warm() -> CampaignDetector:
    det = CampaignDetector(PARAMS)
    quiet(det, 100)
    return det


def clone(det: CampaignDetector) -> CampaignDetector:
    copy: CampaignDetector = pickle.loads(pickle.dumps(det))
    return copy


def fires(det: CampaignDetector, sizes: list[int]) -> bool:
    return ("new", "emerging") in transitions(surge(det, sizes, 100))


def test_a_surge_that_paged_before_does_not_after_repeated_false_alarms() -> None:
    before = warm()
    marked = clone(before)
    now = 100 * STEP
    strictness = [marked.mark_false_alarm(now) for _ in range(4)]
    assert strictness == [1.25, 1.5, 1.75, 2.0]
    assert fires(before, MODEST)
    assert not fires(marked, MODEST)


def test_strictness_fades_with_event_time_and_survives_a_checkpoint() -> None:
    det = warm()
    at = 100 * STEP - 3 * FALSE_ALARM_HALF_LIFE_S  # four clicks, three weeks ago
    for _ in range(4):
        det.mark_false_alarm(at)
    assert det.strictness(at) == MAX_STRICTNESS
    assert det.strictness(at + FALSE_ALARM_HALF_LIFE_S) == 1.5
    assert det.strictness(100 * STEP) == 1.125
    restored = clone(det)
    assert restored.strictness(100 * STEP) == 1.125
    assert fires(restored, MODEST)  # three weeks on, the same surge pages again
    # a click now builds on what is left of the old ones, not on a clean slate
    assert restored.mark_false_alarm(100 * STEP) == 1.125 + FALSE_ALARM_STEP


def test_no_run_of_clicks_makes_it_more_than_twice_as_strict() -> None:
    det = warm()
    for _ in range(20):
        det.mark_false_alarm(100 * STEP)
    assert det.strictness(100 * STEP) == MAX_STRICTNESS == 2.0
    assert not fires(clone(det), MODEST)
    assert fires(det, [12] * 4)  # a clearly bigger crowd still pages


def test_an_unmarked_detector_and_an_old_checkpoint_are_not_stricter() -> None:
    det = warm()
    assert det.strictness(100 * STEP) == 1.0
    assert det.strictness(float("-inf")) == 1.0  # before any event time, as metrics read it
    # a detector pickled before feedback existed has no such attribute in its state
    assert "_false_alarm" not in det.__dict__
    assert clone(det).strictness(100 * STEP) == 1.0
    assert det.mark_false_alarm(100 * STEP) == 1.0 + FALSE_ALARM_STEP
    assert "_false_alarm" in det.__dict__
    assert CampaignDetector(PARAMS).strictness(0.0) == 1.0  # the class default is not shared
