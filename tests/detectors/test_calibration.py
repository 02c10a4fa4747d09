"""Issue 13's calibration test: flat Poisson traffic at 1, 10 and 1,000 posts a bucket gives
the same false-alarm rate over a simulated month (fixed seed), on both paths.

That rate is zero at every volume and on both paths, inside the medium page budget (one a
month). The companion below says what the zeros alone do not: that the noise floor means
the same at any volume, so a rise equally improbable under Poisson noise pages at each. With
β, the series' lower-quartile count, added to σ as it is, the bare series needed a rise of
about 96 Poisson σ (4×) at 1,000 a bucket against 10 σ at 10; with the count-aware floor
(`SeasonalSigniTrend(count_aware=True)`) it needs 6 σ at both (`bench/README.md`, "Issue 13,
session 5").
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from detectors.base import BucketStats
from detectors.campaign import CampaignDetector
from detectors.params import DetectParams

STEP = 300.0
DAY = 86_400.0
MONDAY = 4 * DAY  # 1970-01-05 was a Monday
VOLUMES = (1.0, 10.0, 1000.0)


def bucket(i: int, posts: int, *, crowd: bool) -> BucketStats:
    """A bucket of `posts`; with `crowd`, each post by someone else (the crowd path)."""
    if not crowd:
        return BucketStats(MONDAY + i * STEP, posts)
    return BucketStats(MONDAY + i * STEP, posts, posts, 1 / posts if posts else 0.0)


def pages_in_a_month(volume: float, *, crowd: bool, seed: int = 1) -> int:
    det = CampaignDetector(DetectParams())
    counts = np.random.default_rng(seed).poisson(volume, int(30 * DAY / STEP))
    return sum(
        det.update(bucket(i, int(n), crowd=crowd)).transition == "new" for i, n in enumerate(counts)
    )


@pytest.mark.parametrize("crowd", [False, True], ids=["bare series", "crowd path"])
def test_flat_poisson_gives_the_same_false_alarm_rate_at_any_volume(crowd: bool) -> None:
    budget = DetectParams().thresholds.pages_per_month
    rates = [pages_in_a_month(volume, crowd=crowd) for volume in VOLUMES]
    assert max(rates) <= 2 * budget  # a month of noise keeps (within 2×) to the page budget
    assert max(rates) <= 2 * min(rates)  # and means the same at 1, 10 and 1,000 a bucket


def pages_on_a_rise(volume: float, sigmas: float, *, crowd: bool) -> bool:
    """Whether three buckets at `volume + sigmas·√volume`, after four flat days, page."""
    det = CampaignDetector(DetectParams())
    counts = np.random.default_rng(2).poisson(volume, int(4 * DAY / STEP))
    for i, n in enumerate(counts):
        det.update(bucket(i, int(n), crowd=crowd))
    rise = round(volume + sigmas * math.sqrt(volume))
    det = copy.deepcopy(det)
    return any(
        det.update(bucket(len(counts) + k, rise, crowd=crowd)).transition == "new" for k in range(3)
    )


def test_a_rise_of_the_same_improbability_pages_at_any_volume() -> None:
    """The 5-minute noise floor is count-aware: a rise of 15 Poisson σ pages at 1, 10 and
    1,000 a bucket (it needed about 96 σ at 1,000 with the plain quantile floor), and one of
    3 σ pages at none. (On the crowd path the acceleration gate still asks a held rise to
    nearly double its rate, so there the bar stays relative: about 3× at 1,000.)"""
    assert all(pages_on_a_rise(volume, 15.0, crowd=False) for volume in VOLUMES)
    assert not any(pages_on_a_rise(volume, 3.0, crowd=False) for volume in VOLUMES)
