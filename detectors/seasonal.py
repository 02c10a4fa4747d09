"""SigniTrend significance against an hour-of-day / day-of-week aware baseline."""

from __future__ import annotations

import math

from river import stats

from detectors.localdays import DAY, HOUR, UTC_DAYS, LocalDays, slot_of
from detectors.signitrend import fading_factor

__all__ = ["DAY", "HOUR", "SeasonalSigniTrend", "slot_of"]


class SeasonalSigniTrend:
    """How many noise-floored standard deviations a count sits above its seasonal baseline.

    The score is SigniTrend's `(x − max(μ, β)) / (σ + β)`, where μ is what this hour of the
    day usually holds and σ how much it usually varies. μ is the series' level (an EW mean
    over every bucket) times the hour's shape: the EW mean of buckets in that hour-of-day
    slot (weekdays and weekends apart) over the EW mean of all buckets. Until a slot has
    been seen `prior` times its shape is shrunk toward 1, so a cold start scores against the
    flat level instead of an empty slot. σ comes from the EW variance of the count's
    deviation from μ, scaled by the same shape (busy hours vary more).

    β is the series' own noise floor: `floor_quantile` of its counts (river's P² `Quantile`,
    bounded memory), never below `noise_floor`. A term that rarely exceeds 2 posts per
    bucket gets β = 2; one that always has 50 gets β near its usual low, so a busy term
    must move by much more than its everyday jitter.

    With `count_aware`, β stays the count in `max(μ, β)` but the spread it adds to σ is the
    noise a count of β has: a negative binomial's standard deviation √(β + β²φ), with the
    overdispersion φ = (σ² − μ)/μ² estimated online from the seasonal residuals, never below
    `noise_floor` nor above β. A Poisson-like series at 1,000 a bucket then adds √β ≈ 31,
    not β ≈ 980, to its σ; a heavily overdispersed one adds nearly β, as before. (The hour
    view keeps β itself: its hour-of-day slots cannot follow a step inside their hour, and a
    tighter floor paged on that, `bench/README.md`, "Issue 13, session 5".)

    Scores are computed before learning, and `learn_one` is the caller's choice (keep bursts
    out), but the caller may pass a winsorised value so a lasting level shift is absorbed.

    It works on counts per fixed bucket with a daily rhythm. It does not model holidays, and
    needs about three days of data before the hour shapes are trustworthy (until then it is
    a flat SigniTrend). One-sided: drops never score high.

    Parameters
    ----------
    half_life
        Buckets after which a past bucket has half its weight in the level and the spread.
    slot_half_life
        Visits to a slot after which a past visit has half its weight in that slot's shape.
    noise_floor
        The smallest β, in counts per bucket.
    floor_quantile
        Which quantile of the series' own counts sets β.
    warmup
        Buckets before any score other than 0.0 is returned.
    prior
        Pseudo-visits that shrink a young slot's shape toward 1.
    days
        Whose hours and weekends the slots follow (`LocalDays`; UTC by default).
    count_aware
        Whether the spread β adds to σ is a count's noise (above) rather than β itself.

    Examples
    --------
    A busy evening and a quiet night: the evening's everyday peak is not a burst, the same
    count at night is.

    >>> import random
    >>> rng = random.Random(5)
    >>> det = SeasonalSigniTrend(half_life=288, slot_half_life=36, warmup=288)
    >>> def usual(t):
    ...     return 40 if 18 <= t % 86400 / 3600 < 22 else 5
    >>> for i in range(288 * 5):
    ...     t = i * 300.0
    ...     det.learn_one(t, rng.randint(usual(t) - 3, usual(t) + 3))
    >>> evening, night = 288 * 5 * 300.0 + 19 * 3600, 288 * 5 * 300.0 + 3 * 3600
    >>> round(det.score_one(evening, 42), 1), round(det.score_one(night, 42), 1)
    (0.5, 7.3)

    References
    ----------
    Schubert, Weiler, Kriegel. "SigniTrend", KDD 2014. Hendrickson et al., "Trend Detection
    in Social Data" (Gnip, 2015): a cycle-corrected baseline cuts false positives.

    """

    days = UTC_DAYS  # a class default, so checkpoints pickled before zones load as UTC
    count_aware = False  # a class default: checkpoints from before keep the plain floor

    def __init__(
        self,
        half_life: float = 288.0,
        slot_half_life: float = 36.0,
        noise_floor: float = 2.0,
        floor_quantile: float = 0.1,
        warmup: int = 144,
        prior: float = 12.0,
        days: LocalDays = UTC_DAYS,
        *,
        count_aware: bool = False,
    ) -> None:
        if noise_floor <= 0:
            raise ValueError(f"noise_floor={noise_floor} must be positive")
        if not 0 < floor_quantile < 1:
            raise ValueError(f"floor_quantile={floor_quantile} must be between 0 and 1")
        self.noise_floor = noise_floor
        self.warmup = warmup
        self.prior = prior
        self.days = days
        self.count_aware = count_aware
        alpha = fading_factor(half_life)
        self._level = stats.EWMean(alpha)
        self._spread = stats.EWMean(alpha)  # EW mean of squared, shape-scaled deviations
        slot_alpha = fading_factor(slot_half_life)
        self._slots = [stats.EWMean(slot_alpha) for _ in range(48)]
        self._visits = [0] * 48
        self._low = stats.Quantile(floor_quantile)
        self.n = 0

    #: (start, n, its moments): one bucket's shape, μ, σ, β and the spread β adds to σ,
    #: computed once (a class
    #: default, so checkpoints pickled before it load). Scoring, the calm check, capping and
    #: learning each need them, and in pure Python the repeated lookups were the close's cost.
    _cache: tuple[float, int, tuple[float, float, float, float, float]] | None = None

    @property
    def warm(self) -> bool:
        return self.n >= self.warmup

    @property
    def level(self) -> float:
        return float(self._level.get()) if self.n else 0.0

    def _moments(self, start: float) -> tuple[float, float, float, float, float]:
        """(shape, μ, σ, β, the spread β adds to σ) at `start` for what has been learned."""
        cached = self._cache
        if cached is not None and cached[0] == start and cached[1] == self.n:
            return cached[2]
        slot = self.days.slot(start)
        level = self.level
        visits = self._visits[slot]
        if level <= 0 or visits == 0:
            shape = 1.0
        else:
            raw = float(self._slots[slot].get()) / level
            weight = visits / (visits + self.prior)
            shape = weight * raw + (1 - weight)
        low = float(self._low.get() or 0.0) if self.n else 0.0
        beta = max(self.noise_floor, low)
        mu, sigma = level * shape, math.sqrt(max(float(self._spread.get()), 0.0)) * shape
        spread = beta
        if self.count_aware:
            phi = max(sigma * sigma - mu, 0.0) / (mu * mu) if mu > 0 else 0.0
            spread = min(beta, max(self.noise_floor, math.sqrt(beta + beta * beta * phi)))
        moments = (shape, mu, sigma, beta, spread)
        self._cache = (start, self.n, moments)
        return moments

    def shape(self, start: float) -> float:
        """This slot's usual count relative to the overall level (1.0 when unknown)."""
        return self._moments(start)[0]

    def expected(self, start: float) -> float:
        return self._moments(start)[1]

    def std(self, start: float) -> float:
        return self._moments(start)[2]

    @property
    def beta(self) -> float:
        low = float(self._low.get() or 0.0) if self.n else 0.0
        return max(self.noise_floor, low)

    def significance(self, start: float, x: float) -> float:
        """The raw score, even during warm-up."""
        _, expected, std, beta, spread = self._moments(start)
        return (x - max(expected, beta)) / (std + spread)

    def score_one(self, start: float, x: float) -> float:
        """The score of `x` at `start` against what was learned so far; 0.0 until warm."""
        return self.significance(start, x) if self.warm else 0.0

    def learn_one(self, start: float, x: float) -> None:
        shape, expected, *_ = self._moments(start)
        deviation = (x - expected) / shape if self.n else 0.0
        self._level.update(x)
        self._spread.update(deviation * deviation)
        slot = self.days.slot(start)
        self._slots[slot].update(x)
        self._visits[slot] += 1
        self._low.update(x)
        self.n += 1
