"""Seasonal SigniTrend significance for every term of a playbook at once, as arrays."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from detectors.localdays import UTC_DAYS, LocalDays
from detectors.signitrend import fading_factor

Floats = NDArray[np.float64]

#: z of a normal's lower quartile: β is a term's usual low, μ − 0.674σ, floored.
LOWER_QUARTILE_Z = 0.674


class TermSignificance:
    """How far each term's count sits above its own seasonal baseline, in noise-floored σ.

    A playbook's total hides a surge in one of its terms when others are busy: 30 extra posts
    on `#sewagescandal` are a crowd when the hashtag usually has 1, but not when the
    playbook's twelve other terms bring 200 a bucket between them. So each term gets the same
    model as `SeasonalSigniTrend` (a level, an hour-of-day/weekend shape, a spread and a
    noise floor β), scored as `(x − max(μ, β)) / (σ + β)`, with the state of all terms held
    in a few numpy arrays: one update costs about the same for 5 terms as for 500, and the
    state is 52 floats a term.

    β is each term's lower quartile, estimated from its EW level and spread as μ − 0.674σ
    (the quartile of a normal with those moments) and never below `noise_floor`. That costs
    no state, unlike a P² quantile per term, and is close for the counts that matter (busy
    terms, whose counts are near normal); for rare terms the floor decides anyway.

    The max over many terms is larger than any one term's score by chance alone, so callers
    should ask more of the best term than of the playbook's total (see `CampaignDetector`).

    Parameters
    ----------
    terms
        How many series (a playbook's terms, in its order).
    half_life
        Buckets after which a past bucket has half its weight in the level and the spread.
    slot_half_life
        Visits to an hour slot after which a past visit has half its weight in its shape.
    noise_floor
        The smallest β, in counts per bucket: one for all series, or one each.
    warmup
        Buckets before any score other than 0.0 is returned.
    prior
        Pseudo-visits that shrink a young slot's shape toward 1.

    Examples
    --------
    Three terms; the quiet third one jumps while the busy first one carries on as usual.

    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> det = TermSignificance(3, warmup=288)
    >>> for i in range(288 * 3):
    ...     det.learn_one(i * 300.0, rng.poisson([40.0, 5.0, 0.5]).astype(float))
    >>> now = 288 * 3 * 300.0
    >>> det.score_one(now, np.array([44.0, 6.0, 12.0])).round(1).tolist()
    [0.1, 0.5, 5.5]

    """

    days = UTC_DAYS  # a class default, so checkpoints pickled before zones load as UTC

    def __init__(
        self,
        terms: int,
        half_life: float = 576.0,
        slot_half_life: float = 84.0,
        noise_floor: float | Floats = 1.5,
        warmup: int = 144,
        prior: float = 12.0,
        days: LocalDays = UTC_DAYS,
    ) -> None:
        if np.any(np.asarray(noise_floor) <= 0):
            raise ValueError(f"noise_floor={noise_floor} must be positive")
        self.terms = terms
        self.noise_floor = noise_floor
        self.warmup = warmup
        self.prior = prior
        self.days = days  # whose hours and weekends the slots follow
        self._alpha = fading_factor(half_life)
        self._slot_alpha = fading_factor(slot_half_life)
        self._level = np.zeros(terms)
        self._spread = np.zeros(terms)  # EW mean of squared, shape-scaled deviations
        self._slots = np.zeros((48, terms))
        self._visits = np.zeros(48, dtype=np.int64)
        self.n = 0

    @property
    def warm(self) -> bool:
        return self.n >= self.warmup

    def shape(self, start: float) -> Floats:
        """Each term's usual count in this hour slot relative to its level (1.0 when unknown)."""
        return self._moments(start)[0]

    #: (start, its moments): a class default, so checkpoints pickled with the older
    #: three-moment cache (always cleared by `learn_one` anyway) load.
    _at: tuple[float, tuple[Floats, Floats, Floats, Floats, Floats]] | None = None

    def _moments(self, start: float) -> tuple[Floats, Floats, Floats, Floats, Floats]:
        """(shape, σ, β, μ, σ + β) at `start`, computed once per bucket: scoring, capping and
        learning all need them, and on 50-element arrays numpy's per-call overhead is the
        cost (μ = level × shape and σ + β were each computed two or three times a bucket)."""
        cached = self._at
        if cached is not None and cached[0] == start:
            return cached[1]
        slot = self.days.slot(start)
        visits = int(self._visits[slot])
        if visits == 0:
            shape = np.ones(self.terms)
        else:
            raw = np.divide(
                self._slots[slot], self._level, out=np.ones(self.terms), where=self._level > 0
            )
            weight = visits / (visits + self.prior)
            shape = weight * raw + (1 - weight)
        spread = np.sqrt(self._spread)
        beta = np.maximum(self._level - LOWER_QUARTILE_Z * spread, self.noise_floor)
        sigma = spread * shape
        moments = (shape, sigma, beta, self._level * shape, sigma + beta)
        self._at = (start, moments)
        return moments

    def expected(self, start: float) -> Floats:
        return self._moments(start)[3]

    def significance(self, start: float, counts: Floats) -> Floats:
        """Each term's raw score, even during warm-up."""
        _, _, beta, expected, scale = self._moments(start)
        score: Floats = (counts - np.maximum(expected, beta)) / scale
        return score

    def score_one(self, start: float, counts: Floats) -> Floats:
        """Each term's score at `start` against what was learned so far; zeros until warm."""
        if not self.warm:
            return np.zeros(self.terms)
        return self.significance(start, counts)

    def cap(self, start: float, clip: float) -> Floats:
        """μ + clip·(σ + β): what a surging bucket is learned as, so it hardly moves μ."""
        _, _, _, expected, scale = self._moments(start)
        cap: Floats = expected + clip * scale
        return cap

    def learn_one(self, start: float, counts: Floats) -> None:
        slot = self.days.slot(start)
        if self.n == 0:
            self._level = counts.astype(np.float64)
        else:
            shape, _, _, expected, _ = self._moments(start)
            deviation = (counts - expected) / shape
            self._level += self._alpha * (counts - self._level)
            self._spread += self._alpha * (deviation * deviation - self._spread)
        if self._visits[slot] == 0:
            self._slots[slot] = counts
        else:
            self._slots[slot] += self._slot_alpha * (counts - self._slots[slot])
        self._visits[slot] += 1
        self.n += 1
        self._at = None
