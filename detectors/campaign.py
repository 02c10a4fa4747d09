"""Campaign detection and lifecycle for one playbook, fed one bucket at a time.

Also what it says: `Decision`, its verdict on each bucket, and the lifecycle `State`s
(declared once here; the watcher's metrics and alerts take their names and order from
`STATES`). What it is fed, `BucketStats`, is the contract's (`detectors.base`); the crowd
gates it applies are in `detectors.gates`.

Long because the lifecycle (open, escalate, peak, subside, close) and the per-term path to
opening a campaign read the same detector state and constants on every bucket; apart, each
would need the other's internals passed in.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from river import stats

from detectors.base import BucketStats
from detectors.gates import is_crowd, term_fires
from detectors.localdays import LocalDays
from detectors.params import DetectParams, Thresholds
from detectors.seasonal import SeasonalSigniTrend
from detectors.signitrend import fading_factor
from detectors.spikes import IsolatedSpikes
from detectors.terms import Floats, TermSignificance

#: A playbook's campaign lifecycle, in the order it runs (`STATES`, and so metric codes).
State = Literal["quiet", "emerging", "escalating", "peaked", "subsiding", "over"]
STATES: tuple[State, ...] = get_args(State)
Transition = Literal["new", "update"]

#: Buckets in a row below `CALM_SIGNIFICANCE` that end a campaign.
CALM_BUCKETS = 6
CALM_SIGNIFICANCE = 1.0
#: Buckets that are not learned as they are get learned clipped at μ + CLIP·(σ + β).
CLIP = 2.0
#: Which of its own past scores a term must approach (see `Thresholds.rarity`).
RARITY_QUANTILE = 0.999
#: Short and long half-lives (in buckets) of the decayed rates behind `acceleration`.
SHORT_HALF_LIFE, LONG_HALF_LIFE = 2.0, 12.0
SHORT_ALPHA, LONG_ALPHA = fading_factor(SHORT_HALF_LIFE), fading_factor(LONG_HALF_LIFE)
#: Buckets without a new high before a campaign can count as peaked.
PEAK_AGE = 3
#: Event-time minutes a lifecycle state holds before it may change again.
DWELL_MINUTES = 15
#: A campaign past its peak escalates again only at this × that peak's rate: a new high by
#: a hair is the same wave wobbling, not a second one.
REESCALATE = 1.25
#: A "Not a campaign" click adds this to the playbook's strictness (the factor on the volume
#: significance a surge must reach): a nudge, as one person's verdict on one alert is noisy,
#: but four false alarms in a few days reach the cap. The excess over 1 halves every week of
#: event time: long enough to span a weekly cause (a show, a meeting) recurring, short enough
#: that the playbook is back near its configured sensitivity within a month. It never exceeds
#: MAX_STRICTNESS, so a run of clicks cannot deafen a playbook to a real crowd (Alertmanager's
#: silences expire for the same reason).
FALSE_ALARM_STEP = 0.25
FALSE_ALARM_HALF_LIFE_S = 7 * 24 * 3600.0
MAX_STRICTNESS = 2.0


@dataclass(frozen=True, slots=True)
class Decision:
    """The detector's verdict on one bucket.

    `acceleration` is the short decayed rate over the long one: how fast the surge grows
    (an alert shows it as its `growth`).
    """

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
    acceleration: float
    term_scores: tuple[float, ...] = ()


class CampaignDetector:
    """Finds leaderless surges in one playbook's matched-post counts and tracks their lifecycle.

    Each bucket's count is scored against a seasonal baseline (`SeasonalSigniTrend`: what
    this hour of a weekday or weekend usually holds, with a per-series noise floor β) at two
    scales: the 5-minute count, which catches a sharp start, and the last hour's count (its
    earlier buckets as the baseline learned them, so a past spike counts only clipped), which
    catches a steady ramp. A campaign opens when that score reaches the sensitivity's
    `significance`, is at least `rarity` × the term's own 99.9th-percentile score (a term
    that spikes every few days must spike harder), and, when author data is given, the
    crowd gates pass: enough distinct authors in the bucket, significant against their own
    seasonal baseline (or, for a slow crowd, three times as many in the last hour), no
    account above `max_top_share` (judged over the hour when the bucket is small), and the
    rate accelerating (short decayed rate at least `min_acceleration` × the long one).
    That rejects a flood from one account, most bot pushes, the
    daily rhythm and slow growth over days while catching a crowd within minutes.

    The open campaign then moves `emerging → escalating → peaked → subsiding → over` on a
    smoothed rate with hysteresis: `new` fires once per campaign, `update` on each later
    state change (each state holding `DWELL_MINUTES` first, so the story does not flap),
    and a crowd re-igniting after `over` is a new campaign; a bare count series (no authors)
    instead waits `cooldown_hours` after `over` before anything is new again. A bare series
    also holds a one-bucket excursion to its own past isolated spikes (`detectors.spikes`:
    had it paged on each as high, would it have kept to `pages_per_month`?), so a spiky
    series learns its spikes are normal while a quiet one still pages on its first; a rise
    that holds into a second bucket is judged by the ordinary bars, one bucket late. Quiet
    buckets are learned as they are; surging ones only clipped, so a burst barely moves the
    baseline but a lasting new level is absorbed within days.

    It needs `warmup_hours` of data before it can fire, and about three days to know the
    daily rhythm (before that it scores against a flat level).

    Staff feedback makes it stricter: `mark_false_alarm` (a "Not a campaign" click) raises
    the significance a surge needs by `FALSE_ALARM_STEP`, up to `MAX_STRICTNESS` times, and
    the extra fades with a half-life of `FALSE_ALARM_HALF_LIFE_S` of event time.

    Parameters
    ----------
    params
        The playbook's `detect:` section.
    terms
        How many terms the playbook watches. With two or more, each term's count is also
        scored against its own baseline (`detectors.terms`), so one quiet term's crowd is
        not lost in a busy total.

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
    [('emerging', 'new', 4.8), ('emerging', None, 10.0),
     ('emerging', None, 14.7), ('escalating', 'update', 18.9)]

    """

    #: (strictness above 1, event time it was set): a class default, so checkpoints pickled
    #: before feedback existed load as never marked.
    _false_alarm: tuple[float, float] = (0.0, 0.0)
    #: Empty buckets the engine skipped in gaps (a class default, for older checkpoints).
    skipped_buckets = 0
    #: Lifecycle state added since: class defaults, so older checkpoints load as settled.
    _state_age = 0  # buckets since the lifecycle state last changed
    _peaked_at = 0.0  # the peak rate when the campaign last turned `peaked`
    #: A bare series' own isolated spikes (made on first use, so older checkpoints load too),
    #: its last bucket as (start, score) if that was over the line, and the score that waits
    #: one bucket to learn whether it was an isolated spike before the rarity percentile does.
    _spikes: IsolatedSpikes | None = None
    _over: tuple[float, float] | None = None
    _pending: float | None = None
    #: The last hour's counts as the volume baseline learned them (clipped when surging):
    #: made on first use, so older checkpoints load and start from their raw counts.
    _learned: deque[float] | None = None

    def __init__(self, params: DetectParams | None = None, terms: int = 0, zone: str = "") -> None:
        self.params = params or DetectParams()
        self.terms = terms  # how many terms the playbook has, each also scored on its own
        # the team's IANA zone: the baselines' hours and weekends are its local ones
        days = LocalDays(zone)
        bucket_hours = self.params.bucket_minutes / 60
        half_life = self.params.half_life_hours / bucket_hours
        # Seven days of visits to an hour slot: the daily shape is a lasting habit, and a short
        # memory lets one unusual day reshape it. `python -m bench.nab` with 2, 3, 4, 5, 7, 10
        # days: 79.9, 80.6, 80.7, 81.7, 81.9, 81.9; the scenario suite is unchanged.
        slot_half_life = 7.0 / bucket_hours
        warmup = round(self.params.warmup_hours / bucket_hours)
        floor = self.params.noise_floor
        self.window = max(1, round(1 / bucket_hours))  # buckets in the hour-long view
        # the 5-minute counts' noise floor is count-aware, the hour view's is not (see
        # `SeasonalSigniTrend`: NAB all-in 84.4 -> 85.7, held-out 82.2 -> 84.0)
        self.volume = SeasonalSigniTrend(
            half_life, slot_half_life, floor, 0.25, warmup, days=days, count_aware=True
        )
        self.hourly = SeasonalSigniTrend(
            half_life, slot_half_life, floor * self.window**0.5, 0.25, warmup, days=days
        )
        self.authors = SeasonalSigniTrend(
            half_life, slot_half_life, floor, 0.25, warmup, days=days, count_aware=True
        )
        self._past: deque[float] = deque(maxlen=self.window)
        self._scores = stats.Quantile(RARITY_QUANTILE)
        self._short = stats.EWMean(SHORT_ALPHA)
        self._long = stats.EWMean(LONG_ALPHA)
        self._recent: deque[tuple[float, float]] = deque(maxlen=12)  # (start, significance)
        # Per term, the same two scales: 5-minute and hour counts stacked in one model.
        self._term_model: TermSignificance | None = None
        if self.scores_terms:
            floors = np.repeat([floor, floor * self.window**0.5], terms)
            self._term_model = TermSignificance(
                2 * terms, half_life, slot_half_life, floors, warmup, days=days
            )
        self._term_past: deque[Floats] = deque(maxlen=self.window)
        self._term_hour: Floats = np.zeros(terms)
        self._term_rates: tuple[Floats, Floats] | None = None  # short and long decayed rates
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

    @property
    def scores_terms(self) -> bool:
        """Whether terms are scored on their own: with one term, the total is that term."""
        return self.terms > 1

    def strictness(self, at: float) -> float:
        """The factor on the significance a surge needs at event time `at`: 1 unless marked."""
        excess, since = self._false_alarm
        if excess == 0.0:
            return 1.0
        halvings = max(at - since, 0.0) / FALSE_ALARM_HALF_LIFE_S
        return 1.0 + excess * float(0.5**halvings)

    def mark_false_alarm(self, at: float) -> float:
        """Staff said the alert raised by event time `at` was no campaign; return the new
        strictness. Only opening a campaign gets harder (an open one runs its course), and
        buckets that no longer fire are learned as quiet ones, like any ordinary traffic."""
        excess = min(self.strictness(at) - 1.0 + FALSE_ALARM_STEP, MAX_STRICTNESS - 1.0)
        self._false_alarm = (excess, at)
        return 1.0 + excess

    def _score(self, start: float, posts: float) -> tuple[float, float | None]:
        """The combined volume score, and the hour-long count once there is a full hour.

        The hour is this bucket's count plus the last eleven as the baseline learned them
        (`_learned`): a past spike or a campaign's bucket counts only clipped, so one
        isolated spike does not hold the hour view over the line, or a campaign open, for an
        hour after it (`python -m bench.detection --nab`: spike-injected 69.4 -> 77.3,
        held-out mean 79.9 -> 82.2).
        """
        self._past.append(posts)
        hour = None
        if len(self._past) == self.window:
            learned = self._learned
            if learned is None or len(learned) < self.window - 1:
                hour = sum(self._past)  # an hour not yet learned (or an older checkpoint)
            else:
                hour = sum(itertools.islice(learned, len(learned) - self.window + 1, None))
                hour += posts
        score = self.volume.score_one(start, posts)
        if hour is not None and self.window > 1:
            score = max(score, self.hourly.score_one(start, hour))
        return score, hour

    def _term_view(self, bucket: BucketStats) -> tuple[Floats, Floats, Floats] | None:
        """Each term's score and acceleration, and the counts it learns from.

        The 5-minute and the hour-long count of every term are one stacked array in one
        `TermSignificance` (each half with its own noise floor), so a bucket costs one pass of
        numpy calls, whose overhead, not the arithmetic, is what 50-term arrays cost.
        """
        if self._term_model is None:
            return None
        k = self.terms
        counts = np.zeros(k)
        for index, term in bucket.terms.items():
            counts[index] = term.posts
        if len(self._term_past) == self.window:
            self._term_hour -= self._term_past[0]  # whole counts: the running sum stays exact
        self._term_past.append(counts)
        self._term_hour += counts
        stacked = np.concatenate((counts, self._term_hour))
        both = self._term_model.score_one(bucket.start, stacked)
        scores: Floats = np.maximum(both[:k], both[k:])
        if self._term_rates is None:
            self._term_rates = (counts.copy(), counts.copy())
        short, long = self._term_rates
        short += SHORT_ALPHA * (counts - short)
        long += LONG_ALPHA * (counts - long)
        acceleration: Floats = np.divide(short, long, out=np.zeros_like(short), where=long > 0)
        return scores, acceleration, stacked

    def _learn_terms(
        self, start: float, view: tuple[Floats, Floats, Floats], *, campaign: bool
    ) -> None:
        """Learn each term; a term in its own burst (or any, in a campaign) only clipped."""
        assert self._term_model is not None
        scores, _, stacked = view
        surging = np.ones_like(scores, dtype=bool) if campaign else scores >= CALM_SIGNIFICANCE
        if not campaign and not surging.any():  # the usual bucket: every term learned as is
            self._term_model.learn_one(start, stacked)
            return
        capped = np.minimum(stacked, self._term_model.cap(start, CLIP))
        self._term_model.learn_one(
            start, np.where(np.concatenate((surging, surging)), capped, stacked)
        )

    def _track_spikes(self, start: float, score: float, *, firing: bool, calm: bool) -> None:
        """Remember whether this bucket is over the line; if the last one was and this one is
        back to calm, the last was an isolated spike."""
        if self._spikes is None:
            self._spikes = IsolatedSpikes(self.thresholds.pages_per_month)
        self._spikes.start(start)
        before, self._over = self._over, (start, score) if firing else None
        if before is not None and not firing and calm:
            self._spikes.record(before[1], at=before[0])

    def _opens_bare(
        self,
        start: float,
        score: float,
        before: tuple[float, float] | None,
        *,
        firing: bool,
        calm: bool,
    ) -> bool:
        """Whether a bare series' bucket may open a campaign. A bucket over the line after
        another is a rise that holds, judged by the ordinary bars; a one-bucket excursion must
        also be rare among the series' own isolated spikes; and an excursion that was held
        back pages one bucket late if this bucket has not fallen back to calm."""
        if firing:
            held = before is not None
            spikes = self._spikes
            rare_spike = spikes is None or spikes.may_page(score, at=start)
            return (held or rare_spike) and self._rare(score)
        return before is not None and not calm and self._rare(before[1])

    def _rare(self, score: float) -> bool:
        usual = self._scores.get()
        return usual is None or score >= self.thresholds.rarity * float(usual)

    def update(self, bucket: BucketStats) -> Decision:
        """Score one closed bucket, advance the lifecycle, and learn it."""
        start, posts = bucket.start, float(bucket.posts)
        score, hour = self._score(start, posts)
        author_score = (
            self.authors.score_one(start, bucket.authors) if bucket.authors is not None else 0.0
        )
        self._short.update(posts)
        self._long.update(posts)
        rate, long = float(self._short.get()), float(self._long.get())
        acceleration = rate / long if long > 0 else 0.0
        significance = self.volume.significance(start, posts)
        calm = significance < CALM_SIGNIFICANCE
        self._recent.append((start, significance))
        transition: Transition | None = None
        t = self.thresholds
        needed = t.significance if bucket.authors is None else t.crowd_significance
        needed *= self.strictness(start)
        firing = score >= needed and self.volume.warm
        bare = bucket.authors is None
        before = self._over  # the last bucket, if it was over the line
        if bare and self.volume.warm:
            self._track_spikes(start, score, firing=firing, calm=calm)
        view = self._term_view(bucket)
        term_firing = (
            view is not None
            and self.volume.warm
            and term_fires(bucket, t, self._past, view[0], view[1], needed)
        )

        if self.state in ("quiet", "over"):
            self.state = "quiet"
            opens = (
                self._opens_bare(start, score, before, firing=firing, calm=calm)
                if bare
                else firing and self._rare(score)
            )
            by_total = opens and is_crowd(bucket, t, self._past, author_score, acceleration)
            # Re-ignition is not silence: once a campaign is over, a crowd that passes every
            # gate again is a new campaign even inside the cooldown (`python -m
            # bench.detection`: the second of two surges four hours apart was never paged).
            # A bare count series has no crowd to tell a new event from the last one's
            # aftershocks, so it waits the cooldown out, as NAB's best detectors hold 7-12 h.
            cooled = start >= self._cooldown_until or bucket.authors is not None
            if cooled and (by_total or term_firing):
                transition = self._open(bucket, rate)
        else:
            calm_terms = view is None or float(view[0].max()) < CALM_SIGNIFICANCE
            transition = self._advance(bucket, rate, hour, calm_terms=calm_terms)

        if bare:
            # A bare count series keeps learning every score, campaigns included: they are
            # mostly its own spikes (NAB's FB file: 26 false alarms instead of 7 when they
            # were left out). But not its isolated spikes, which `_spikes` judges: each score
            # waits a bucket, and one that proves an isolated spike stays out, so a spiky
            # series' percentile does not rise over its real, lasting events.
            isolated = before is not None and not firing and calm
            if self._pending is not None and not isolated:
                self._scores.update(self._pending)
            self._pending = score
        elif transition == "new" or self.state == "quiet":
            # A crowd's campaign would teach the playbook that surges are its usual, and
            # hide the next one (a re-ignition four hours later went unpaged), so only the
            # bucket that opened it counts.
            self._scores.update(score)
        self._learn(bucket, hour, quiet=self.state == "quiet" and not firing)
        if view is not None:
            self._learn_terms(start, view, campaign=self.state != "quiet")
        return Decision(
            start=start,
            score=score,
            author_score=author_score,
            state=self.state,
            transition=transition,
            campaign=self.campaigns,
            onset=self.onset,
            baseline=self.volume.expected(start),
            rate=rate,
            peak_rate=self.peak_rate,
            acceleration=acceleration,
            term_scores=() if view is None else tuple(view[0].tolist()),
        )

    def skip(self, start: float, buckets: int) -> None:
        """A long empty stretch went by unfed (`Detector.skip`). Nothing to catch up: its
        first day of zeros was fed, so the hour view and decayed rates are already zero, and
        the lifecycle and cooldown run on event time; the baseline keeps what it knew rather
        than learning the rest, as a gap that long is a feed that was down, not news."""
        self.skipped_buckets += buckets

    def _learn(self, bucket: BucketStats, hour: float | None, *, quiet: bool) -> None:
        pairs: list[tuple[SeasonalSigniTrend, float]] = [(self.volume, float(bucket.posts))]
        if hour is not None:
            pairs.append((self.hourly, hour))
        if bucket.authors is not None:
            pairs.append((self.authors, float(bucket.authors)))
        for baseline, value in pairs:
            if not quiet:  # protect the baseline from the burst, but let a new level in
                cap = baseline.expected(bucket.start) + CLIP * (
                    baseline.std(bucket.start) + baseline.beta
                )
                value = min(value, cap)
            if baseline is self.volume:
                self._remember_learned(value)
            baseline.learn_one(bucket.start, value)

    def _remember_learned(self, value: float) -> None:
        """Keep the counts the volume baseline learned for the hour view (see `_score`)."""
        if self._learned is None:
            self._learned = deque(itertools.islice(self._past, len(self._past) - 1), self.window)
        self._learned.append(value)

    def _open(self, bucket: BucketStats, rate: float) -> Transition:
        self.campaigns += 1
        self.state = "emerging"
        self._state_age = 0
        self.onset = bucket.start
        for start, significance in reversed(self._recent):
            if significance < CALM_SIGNIFICANCE:
                break
            self.onset = start
        self._open_rate = rate  # smoothed, so one noisy bucket neither escalates nor peaks
        self.peak_rate = self._open_rate
        self._peak_age = 0
        self._calm = 0
        return "new"

    def _advance(
        self,
        bucket: BucketStats,
        rate: float,
        hour: float | None,
        *,
        calm_terms: bool = True,
    ) -> Transition | None:
        before = self.state
        self._state_age += 1
        # A reader should see a story, not flapping: a state holds for `DWELL_MINUTES` of
        # event time before the next change (the end, on its own calm count, excepted).
        settled = self._state_age * self.params.bucket_minutes >= DWELL_MINUTES
        if rate > self.peak_rate:
            self.peak_rate, self._peak_age = rate, 0
        else:
            self._peak_age += 1
        calm = (
            self.volume.significance(bucket.start, bucket.posts) < CALM_SIGNIFICANCE
            and (hour is None or self.hourly.significance(bucket.start, hour) < CALM_SIGNIFICANCE)
            and calm_terms
        )
        self._calm = self._calm + 1 if calm else 0
        peak = self.peak_rate
        if self._calm >= CALM_BUCKETS:
            self.state = "over"
            self._cooldown_until = bucket.start + self.params.cooldown_hours * 3600
        elif not settled:
            pass
        elif self.state == "emerging" and rate >= 2.0 * self._open_rate:
            self.state = "escalating"
        elif (
            self.state in ("emerging", "escalating")
            and rate <= 0.75 * peak
            and self._peak_age >= PEAK_AGE
        ):
            self.state = "peaked"
        elif self.state == "peaked" and rate <= 0.4 * peak:
            self.state = "subsiding"
        elif self.state in ("peaked", "subsiding") and rate >= REESCALATE * self._peaked_at:
            self.state = "escalating"
        if self.state == before:
            return None
        self._state_age = 0
        if self.state == "peaked":
            self._peaked_at = peak
        return "update"
