"""Campaign detection and lifecycle for one playbook, fed one bucket at a time."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from river import stats

from detectors.params import DetectParams, Thresholds
from detectors.signitrend import SigniTrend, fading_factor

State = Literal["quiet", "emerging", "escalating", "peaked", "subsiding", "over"]
Transition = Literal["new", "update"]

#: Buckets in a row below `calm_significance` that end a campaign.
CALM_BUCKETS = 6
CALM_SIGNIFICANCE = 1.0


@dataclass(frozen=True, slots=True)
class BucketStats:
    """What one closed event-time bucket held for one playbook.

    `authors` is None for a bare count series (no author data), which skips the author gates.
    """

    start: float
    posts: int
    authors: int | None = None
    top_author_share: float = 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    """The detector's verdict on one bucket."""

    start: float
    score: float
    author_score: float
    state: State
    transition: Transition | None
    campaign: int
    onset: float | None
    baseline: float
    rate: float
    peak_rate: float
    growth: float


class CampaignDetector:
    """Finds leaderless surges in one playbook's matched-post counts and tracks their lifecycle.

    A campaign opens when, in one bucket, the matched-post count is significant against its
    baseline (SigniTrend), the distinct authors are significant too, there are enough of them,
    and no single account carries more than its share. That rejects a flood from one account
    and most bot pushes while catching a crowd early. The open campaign then moves through
    `emerging → escalating → peaked → subsiding → over` on a smoothed rate with hysteresis.
    A `new` transition fires once per campaign; `update` fires on each later state change.
    Buckets inside a campaign, or significant ones, are never learned into the baseline.

    It knows no daily rhythm and needs `warmup` of quiet data before it can fire.

    Parameters
    ----------
    params
        The playbook's `detect:` section.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(3)
    >>> det = CampaignDetector(DetectParams(warmup_hours=2))
    >>> quiet = [BucketStats(i * 300.0, rng.randint(0, 3), 2, 0.5) for i in range(48)]
    >>> surge = [BucketStats((48 + i) * 300.0, 10 * (i + 1), 8 * (i + 1), 0.05) for i in range(4)]
    >>> [d.transition for d in map(det.update, quiet) if d.transition]
    []
    >>> [(d.state, d.transition, round(d.score, 1)) for d in map(det.update, surge)]
    [('quiet', None, 3.3), ('emerging', 'new', 6.9),
     ('emerging', None, 10.7), ('emerging', None, 14.6)]

    """

    def __init__(self, params: DetectParams | None = None) -> None:
        self.params = params or DetectParams()
        bucket_hours = self.params.bucket_minutes / 60
        half_life = self.params.half_life_hours / bucket_hours
        warmup = round(self.params.warmup_hours / bucket_hours)
        floor = self.params.noise_floor
        self.volume = SigniTrend(half_life, floor, warmup)
        self.authors = SigniTrend(half_life, floor, warmup)
        self._short = stats.EWMean(fading_factor(2.0))
        self._long = stats.EWMean(fading_factor(12.0))
        self._recent: deque[tuple[float, float]] = deque(maxlen=12)  # (start, significance)
        self.state: State = "quiet"
        self.campaigns = 0
        self.onset: float | None = None
        self._open_rate = 0.0
        self.peak_rate = 0.0
        self._peak_age = 0
        self._calm = 0
        self._cooldown_until = float("-inf")

    @property
    def thresholds(self) -> Thresholds:
        return self.params.thresholds

    def _gates(self, bucket: BucketStats, author_score: float) -> bool:
        if bucket.authors is None:
            return True
        t = self.thresholds
        return (
            bucket.authors >= t.min_authors
            and bucket.top_author_share <= t.max_top_share
            and author_score >= t.significance / 2
        )

    def update(self, bucket: BucketStats) -> Decision:
        """Score one closed bucket, advance the lifecycle, and learn it if it was quiet."""
        score = self.volume.score_one(bucket.posts)
        author_score = self.authors.score_one(bucket.authors) if bucket.authors is not None else 0
        self._short.update(bucket.posts)
        self._long.update(bucket.posts)
        rate = float(self._short.get())
        self._recent.append((bucket.start, self.volume.significance(bucket.posts)))
        transition: Transition | None = None

        if self.state in ("quiet", "over"):
            self.state = "quiet"
            if (
                score >= self.thresholds.significance
                and bucket.start >= self._cooldown_until
                and self._gates(bucket, author_score)
            ):
                transition = self._open(bucket, rate)
        else:
            transition = self._advance(bucket, rate)

        if self.state == "quiet" and score < self.thresholds.significance:
            self.volume.learn_one(bucket.posts)
            if bucket.authors is not None:
                self.authors.learn_one(bucket.authors)
        long = float(self._long.get())
        return Decision(
            start=bucket.start,
            score=score,
            author_score=author_score,
            state=self.state,
            transition=transition,
            campaign=self.campaigns,
            onset=self.onset,
            baseline=self.volume.mean,
            rate=rate,
            peak_rate=self.peak_rate,
            growth=rate / long if long > 0 else 0.0,
        )

    def _open(self, bucket: BucketStats, rate: float) -> Transition:
        self.campaigns += 1
        self.state = "emerging"
        self.onset = bucket.start
        for start, significance in reversed(self._recent):
            if significance < CALM_SIGNIFICANCE:
                break
            self.onset = start
        self._open_rate = max(rate, float(bucket.posts))
        self.peak_rate = self._open_rate
        self._peak_age = 0
        self._calm = 0
        return "new"

    def _advance(self, bucket: BucketStats, rate: float) -> Transition | None:
        before = self.state
        if rate > self.peak_rate:
            self.peak_rate, self._peak_age = rate, 0
        else:
            self._peak_age += 1
        calm = self.volume.significance(bucket.posts) < CALM_SIGNIFICANCE
        self._calm = self._calm + 1 if calm else 0
        peak = self.peak_rate
        if self._calm >= CALM_BUCKETS:
            self.state = "over"
            self._cooldown_until = bucket.start + self.params.cooldown_hours * 3600
        elif self.state == "emerging" and rate >= 2.0 * self._open_rate:
            self.state = "escalating"
        elif (
            self.state in ("emerging", "escalating") and rate <= 0.75 * peak and self._peak_age >= 2
        ):
            self.state = "peaked"
        elif self.state == "peaked" and rate <= 0.4 * peak:
            self.state = "subsiding"
        elif self.state in ("peaked", "subsiding") and self._peak_age == 0:
            self.state = "escalating"
        return "update" if self.state != before else None
