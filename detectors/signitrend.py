"""SigniTrend significance of a count against its exponentially weighted baseline."""

from __future__ import annotations

import math

from river import stats


def fading_factor(half_life: float) -> float:
    """The EW update weight α for a half-life given in updates.

    >>> round(fading_factor(1.0), 3)
    0.5
    """
    if half_life <= 0:
        raise ValueError(f"half_life={half_life} must be positive")
    return 1.0 - math.exp(math.log(0.5) / half_life)


class SigniTrend:
    """How many noise-floored standard deviations a count sits above its baseline.

    The score is `(x − max(μ, β)) / (σ + β)` where μ and σ² are the exponentially weighted
    mean and variance of past counts (river's `EWMean` and `EWVar`) and β is the noise floor.
    β does two jobs: `max(μ, β)` stops a rare term from scoring high on its first mentions,
    and `+ β` caps the score when the variance is near zero.

    It works well on counts per fixed bucket with a stable or slowly moving level. It is
    one-sided (drops score negative, never high) and it knows no daily rhythm: feed it
    seasonally adjusted counts, or pair it with other signals, where the rhythm is strong.
    Scores are computed *before* the count is learned, and `learn_one` is the caller's
    choice, so a burst can be kept out of the baseline.

    Parameters
    ----------
    half_life
        Updates after which a past count has half its weight.
    noise_floor
        β, in counts per bucket.
    warmup
        Updates before any score other than 0.0 is returned.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(7)
    >>> det = SigniTrend(half_life=48, noise_floor=2.0, warmup=24)
    >>> series = [rng.randint(3, 7) for _ in range(100)] + [40]
    >>> scores = []
    >>> for x in series:
    ...     scores.append(det.score_one(x))
    ...     det.learn_one(x)
    >>> max(scores[:100]) < 2.0, round(scores[-1], 1)
    (True, 10.5)

    References
    ----------
    Schubert, Weiler, Kriegel. "SigniTrend: scalable detection of emerging topics in textual
    streams by hashed significance thresholds." KDD 2014.

    """

    def __init__(self, half_life: float = 288.0, noise_floor: float = 2.0, warmup: int = 144):
        if noise_floor <= 0:
            raise ValueError(f"noise_floor={noise_floor} must be positive")
        self.half_life = half_life
        self.noise_floor = noise_floor
        self.warmup = warmup
        alpha = fading_factor(half_life)
        self._mean = stats.EWMean(alpha)
        self._var = stats.EWVar(alpha)
        self.n = 0

    @property
    def mean(self) -> float:
        return float(self._mean.get()) if self.n else 0.0

    @property
    def std(self) -> float:
        return math.sqrt(max(float(self._var.get()), 0.0)) if self.n else 0.0

    @property
    def warm(self) -> bool:
        return self.n >= self.warmup

    def significance(self, x: float) -> float:
        """The raw score, even during warm-up."""
        beta = self.noise_floor
        return (x - max(self.mean, beta)) / (self.std + beta)

    def score_one(self, x: float) -> float:
        """The score of `x` against what was learned so far; 0.0 until warm."""
        return self.significance(x) if self.warm else 0.0

    def learn_one(self, x: float) -> None:
        self._mean.update(x)
        self._var.update(x)
        self.n += 1
