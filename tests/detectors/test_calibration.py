"""Issue 13's calibration test: flat Poisson traffic at 1, 10 and 1,000 posts a bucket gives
the same false-alarm rate over a simulated month (fixed seed), on both paths.

Today that rate is zero at every volume and on both paths, inside the medium page budget
(one a month). The companion below says what the zeros do not: the noise floor β is a count
(the series' lower quartile) added to a standard deviation, so at 1,000 a bucket the
detector needs a rise of about 96 Poisson σ (4×) where at 10 it needs about 10 σ
(`bench/README.md`, "Issue 13, session 5"). The count-aware floors tried for it are recorded
there; none kept the held-out figures and the no-anomaly series at zero.
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


@pytest.mark.xfail(
    reason="β is a count quantile, not a noise level: at 1,000 a bucket a held rise of "
    "15 Poisson σ scores under 1 (issue 13 item 2, not done)",
    strict=True,
)
def test_a_rise_of_the_same_improbability_pages_at_any_volume() -> None:
    assert all(pages_on_a_rise(volume, 15.0, crowd=False) for volume in VOLUMES)
