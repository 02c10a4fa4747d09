"""Persistence, suppression and re-alarm on growth, and the slow-growth decoy (issue 13 item 3).

What the design does, tested as it is: on the crowd path a bucket carried by a crowd pages
at once (the crowd gates stand in for persistence; a bare series' one-bucket excursions are
held to its own past spikes, `test_spikes`); an open campaign never pages `new` again, and
re-escalates only when its rate passes `REESCALATE` × the peak it turned from.
"""

from __future__ import annotations

import pickle
import random

from detectors.base import BucketStats
from detectors.campaign import REESCALATE, CampaignDetector
from detectors.params import DetectParams
from tests.detectors.test_campaign import PARAMS, STEP, quiet, surge, transitions

#: Up to a peak (a smoothed rate of ~86 posts a bucket), then turning down: `peaked`.
WAVE = [20, 60, 120, 120, 120, 80, 60, 50, 50, 50]


def peaked() -> CampaignDetector:
    det = CampaignDetector(PARAMS)
    quiet(det, 100)
    story = transitions(surge(det, WAVE, 100))
    assert story == [("new", "emerging"), ("update", "escalating"), ("update", "peaked")]
    return det


def test_a_crowd_in_one_bucket_pages_in_that_bucket() -> None:
    det = CampaignDetector(PARAMS)
    quiet(det, 100)
    first, *_ = surge(det, [60, 3, 2], 100)
    assert (first.transition, first.state) == ("new", "emerging")


def test_a_wave_that_wobbles_near_its_peak_stays_one_story() -> None:
    det = peaked()
    wobble = surge(det, [60, 70, 80, 90, 95, 95, 95, 95], 100 + len(WAVE))
    assert max(d.rate for d in wobble) < REESCALATE * det.peak_rate
    assert transitions(wobble) == []  # no second `new`, and no re-escalation by a hair


def test_a_wave_that_clearly_grows_past_its_peak_escalates_again_after_a_checkpoint() -> None:
    det = pickle.loads(pickle.dumps(peaked()))  # the peak it turned from is checkpointed
    growth = surge(det, [100, 130, 160, 190, 190, 190], 100 + len(WAVE))
    assert transitions(growth) == [("update", "escalating")]
    assert all(d.campaign == 1 for d in growth)  # the same campaign, not a new page


def test_slow_growth_over_days_does_not_page() -> None:
    """A topic warming up ×1.6 a day, carried by many people: no campaign, only a new level."""
    det = CampaignDetector(DetectParams())
    rng = random.Random(9)
    decisions = []
    for i in range(int(8 * 86_400 / STEP)):
        days = max(i * STEP / 86_400 - 4, 0.0)  # four flat days, then the growth
        posts = rng.randint(3, 7) + int(5 * (1.6**days - 1) + rng.random())
        decisions.append(det.update(BucketStats(i * STEP, posts, max(posts - 1, 0), 0.2)))
    flat, last = decisions[int(4 * 86_400 / STEP) - 1], decisions[-1]
    assert last.rate > 5 * flat.rate  # the topic grew more than fivefold ...
    assert last.baseline > 2 * flat.baseline  # ... and the baseline followed it up
    assert not any(d.transition == "new" for d in decisions)
