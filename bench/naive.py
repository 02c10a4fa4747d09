"""The issue's naive reference: 5-minute buckets, SigniTrend on distinct authors, one threshold.

Issue 13 measured a detector a new user could write in an afternoon beside ours, and it paged
sooner on the quadratic ramps (24 min against our 29). This is that reference, kept small so
it stays a reference: plain SigniTrend (`detectors.signitrend.SigniTrend`, no daily rhythm)
over each bucket's distinct authors, learning every bucket as it is, and one page whenever the
score first reaches `threshold` after `rearm` buckets under it. Its constants are the
textbook's, not tuned here: a two-hour half-life (short enough to follow the daily cycle, as
it has no seasonal model), β = 1 author, a 3-σ threshold, a day's warm-up.
"""

from __future__ import annotations

from detectors.signitrend import SigniTrend

HALF_LIFE = 24  # buckets: two hours
NOISE_FLOOR = 1.0
THRESHOLD = 3.0
WARMUP = 288
REARM = 6  # buckets under the threshold before it may page again


class NaiveReference:
    """Pages when SigniTrend on a bucket's distinct authors first reaches the threshold.

    >>> ref = NaiveReference()
    >>> pages = [ref.update(3 + i % 2) for i in range(400)]
    >>> any(pages), ref.update(40)
    (False, True)
    """

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self.model = SigniTrend(HALF_LIFE, NOISE_FLOOR, WARMUP)
        self._under = REARM

    def update(self, authors: int) -> bool:
        """Score this bucket's distinct authors, learn them, and say whether it pages."""
        score = self.model.score_one(float(authors))
        self.model.learn_one(float(authors))
        if score >= self.threshold:
            pages = self._under >= REARM
            self._under = 0
            return pages
        self._under += 1
        return False
