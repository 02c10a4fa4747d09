"""A scenario sweep at the bucket level: many surges, decoys and quiet months, fast.

`watcher.simulation.suite` replays posts through the whole engine, which is faithful but
slow, so it holds one stream per case. This sweep feeds the detector `BucketStats` built
the way the pipeline builds them (`watcher.pipeline.crowd`: distinct authors, top share,
effective authors, the hour's crowd) from a generator of its own, unlike the suite's:

* everyday traffic: `base` matching posts a minute on average over the day, shaped by the
  suite's day curve (`watcher.simulation.generate.activity`), with a level that wanders
  from day to day (log-normal, σ 0.15) and gamma-Poisson buckets (shape 30), so busy
  series are overdispersed as real ones are; everyday authors are Zipf-distributed;
* surges: extra posts from a crowd of 100–5,000 people new to the topic, each posting
  1.2–2.5 times on average, ramping as a step, linearly, quadratically or exponentially
  over `rise` minutes, held for an hour and fading over another; the peak follows from
  the crowd, so a crowd of a given size is a smaller multiple of a busier base (targets are
  those ≥ 5× the daily mean rate); the onset is the moment the extra rate first equals
  the everyday rate (the traffic has doubled);
* re-ignitions: a step surge, then the same again four hours after the first fades,
  inside the detector's cooldown; only the second is timed;
* decoys: one account, four accounts, a ring of fifteen, and slow growth over days;
* quiet months: thirty days of everyday traffic, for false pages per playbook-month.

Each (seed, base) warm-up of four days runs once and is copied for every event after it,
which is what keeps hundreds of cases within minutes. The oracle knows the true everyday
mean and overdispersion: its delay is the first bucket end at which some sum over the last
1–12 buckets has a tail probability below the page budget, the limit a detector that sees
only counts can reach at that false-page rate.

Long because the generator, the oracle and the report share `Case` and `Result` and the
warm-up cache; apart, each would import the others' internals.
"""

from __future__ import annotations

import copy
import math
import random
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from detectors.base import BucketStats
from detectors.campaign import CampaignDetector
from detectors.params import SENSITIVITY, DetectParams, Sensitivity
from watcher.pipeline.crowd import AuthorWindow, effective_authors
from watcher.simulation.generate import MEAN_ACTIVITY, activity

BUCKET = 300.0
DAY = 86_400.0
WARM_DAYS = 4
#: Gamma shape of the everyday bucket rate: variance μ + μ²/30.
DISPERSION = 30.0
SHAPES = ("step", "linear", "quadratic", "exponential")
DECOYS = ("one-account", "few-accounts", "bot-ring", "slow-growth")
ORACLE_WINDOWS = (1, 2, 3, 6, 12)


@dataclass(frozen=True, slots=True)
class Case:
    family: str  # "surge-<shape>" or "decoy-<kind>"
    seed: int
    base: float  # everyday matching posts a minute, daily mean
    onset_hour: float  # UTC hour of day 4
    multiple: float  # peak extra rate over the daily mean rate
    authors: int  # the surge's crowd, or the decoy's accounts
    rise: float  # minutes to the peak

    @classmethod
    def crowd(
        cls, shape: str, seed: int, base: float, hour: float, authors: int, per: float, rise: float
    ) -> Case:
        """A surge of `authors` people posting `per` times each on average: its peak follows
        from its shape, so a crowd of a given size is a smaller multiple of a busier base."""
        case = cls(f"surge-{shape}", seed, base, hour, 1.0, authors, rise)
        unit = sum(_profile(case, i * BUCKET) for i in range(int(DAY / BUCKET)))
        return cls(case.family, seed, base, hour, authors * per / unit, authors, rise)


@dataclass(frozen=True, slots=True)
class Result:
    case: Case
    delay: float | None  # minutes from onset to the end of the bucket that paged
    oracle: float | None
    distinct: int  # distinct authors the event actually had
    early: int  # `new` pages before the onset on the event day (false)
    pages: int  # `new` pages from the onset on (for decoys: all false)


def everyday_mean(t: float, base: float) -> float:
    """Expected everyday posts in the bucket starting at `t`, before the day's level."""
    weekend = 0.85 if (int(t // DAY) + 3) % 7 >= 5 else 1.0
    return base * 5 * weekend * activity(t % DAY / 3600) / MEAN_ACTIVITY


def reignition_gap(case: Case) -> float:
    """Seconds from a re-ignition's first surge to its second: four hours after the first
    starts to fade, so the second comes inside the detector's six-hour cooldown."""
    return case.rise * 60 + 3600 + 4 * 3600


def surge_extra(case: Case, tau: float) -> float:
    """Extra posts a bucket `tau` seconds after the ramp starts (0 outside the event).

    A re-ignition (`surge-reignite`) is the same step surge twice, the first
    `reignition_gap` earlier."""
    if case.family == "surge-reignite":
        return _profile(case, tau) + _profile(case, tau + reignition_gap(case))
    return _profile(case, tau)


def _profile(case: Case, tau: float) -> float:
    rise, peak = case.rise * 60, case.multiple * case.base * 5
    if tau < 0:
        return 0.0
    if tau < rise:
        x = tau / rise
        shape = case.family.removeprefix("surge-").removeprefix("decoy-")
        f = {"step": 1.0, "linear": x, "quadratic": x * x, "exponential": math.exp(4 * (x - 1))}
        return peak * f.get(shape, 1.0)
    if tau < rise + 3600:
        return peak
    return peak * math.exp(-(tau - rise - 3600) / 1800)


class Traffic:
    """Everyday buckets of one (seed, base): counts, authors, and the hour's crowd."""

    def __init__(self, seed: int, base: float) -> None:
        self.seed, self.base = seed, base
        self.rng = np.random.default_rng([seed, round(base * 1000)])
        population = 4000 + int(200 * base)
        weights = 1 / np.arange(1, population + 1) ** 1.05
        self.cum = np.cumsum(weights) / weights.sum()
        self.names = [f"p{i}" for i in range(population)]
        self.level: dict[int, float] = {}
        self.window = AuthorWindow(11)

    def day_level(self, t: float) -> float:
        day = int(t // DAY)
        if day not in self.level:
            self.level[day] = float(np.exp(self.rng.normal(0, 0.15)))
        return self.level[day]

    def mean(self, t: float) -> float:
        return everyday_mean(t, self.base) * self.day_level(t)

    def draw(self, mean: float) -> Counter[str]:
        """Posts of everyday authors, gamma-Poisson with this mean."""
        lam = self.rng.gamma(DISPERSION, mean / DISPERSION) if mean > 0 else 0.0
        picks = np.searchsorted(self.cum, self.rng.random(int(self.rng.poisson(lam))))
        names, last = self.names, len(self.names) - 1
        return Counter(names[min(i, last)] for i in picks.tolist())

    def everyday(self, t: float) -> Counter[str]:
        return self.draw(self.mean(t))

    def stats(self, t: float, authors: Counter[str]) -> BucketStats:
        posts = sum(authors.values())
        top = max(authors.values(), default=0)
        clogc = sum(n * math.log(n) for n in authors.values() if n > 1)
        hour = self.window.with_bucket(authors, posts)
        self.window.push(authors, posts)
        return BucketStats(
            t,
            posts,
            len(authors),
            top / posts if posts else 0.0,
            hour_authors=hour.distinct,
            hour_top_share=hour.top_share,
            effective_authors=effective_authors(posts, clogc),
            hour_effective_authors=hour.effective,
        )


def _event_authors(case: Case, rng: random.Random, extra: float) -> Counter[str]:
    n = int(np.random.default_rng(rng.getrandbits(32)).poisson(extra))
    pool = case.authors
    prefix = "bot" if case.family.startswith("decoy") else f"c{case.seed}-"
    return Counter(f"{prefix}{rng.randrange(pool)}" for _ in range(n))


def warm(seed: int, base: float, sensitivity: Sensitivity) -> tuple[Traffic, CampaignDetector]:
    traffic = Traffic(seed, base)
    detector = CampaignDetector(DetectParams(sensitivity=sensitivity))
    for i in range(int(WARM_DAYS * DAY / BUCKET)):
        t = i * BUCKET
        detector.update(traffic.stats(t, traffic.everyday(t)))
    return traffic, detector


def oracle_delay(
    case: Case, observed: list[tuple[float, int, float]], onset: float, p: float
) -> float | None:
    """Minutes from onset to the first bucket end where a recent sum is beyond chance.

    `observed` holds (start, posts, true everyday mean) of the event run's buckets.
    """
    limit = p / len(ORACLE_WINDOWS)
    for k, (start, _, _) in enumerate(observed):
        if start + BUCKET <= onset:
            continue
        for w in ORACLE_WINDOWS:
            if k + 1 < w:
                continue
            span = observed[k + 1 - w : k + 1]
            total = sum(n for _, n, _ in span)
            mu = sum(m for _, _, m in span)
            var = mu + sum(m * m for _, _, m in span) / DISPERSION
            size = mu * mu / (var - mu)
            if sps.nbinom.sf(total - 1, size, size / (size + mu)) < limit:
                return (start + BUCKET - onset) / 60
        if start > onset + 4 * 3600:
            return None
    return None


def run_case(case: Case, warmed: tuple[Traffic, CampaignDetector], p: float) -> Result:
    traffic, detector = copy.deepcopy(warmed)
    rng = random.Random(f"{case.seed}:{case}")
    day0 = WARM_DAYS * DAY
    ramp = day0 + case.onset_hour * 3600
    onset = ramp
    if case.family == "decoy-slow-growth":
        onset = day0
    else:  # the first moment the extra rate reaches the everyday rate
        for step in range(0, int(case.rise * 60) + 1, 30):
            if surge_extra(case, step) >= everyday_mean(ramp + step, case.base):
                onset = ramp + step
                break
    observed: list[tuple[float, int, float]] = []
    early = pages = 0
    delay: float | None = None
    event_people: set[str] = set()
    end = day0 + DAY + 12 * 3600
    t = day0
    while t < end:
        people = traffic.everyday(t)
        mean = traffic.mean(t)
        if case.family == "decoy-slow-growth":
            # a topic warming up: everyday-style talk growing ×1.6 a day from day 4
            people.update(traffic.draw(mean * (1.6 ** ((t - day0) / DAY) - 1)))
        else:
            extra_authors = _event_authors(case, rng, surge_extra(case, t - ramp))
            event_people.update(extra_authors)
            people.update(extra_authors)
        decision = detector.update(traffic.stats(t, people))
        observed.append((t, sum(people.values()), mean))
        if decision.transition == "new":
            if t + BUCKET <= onset:
                early += case.family != "surge-reignite"  # its first surge pages, rightly
            else:
                pages += 1
                if delay is None:
                    delay = (t + BUCKET - onset) / 60
        t += BUCKET
    oracle = None
    if case.family.startswith("surge"):
        oracle = oracle_delay(case, observed, onset, p)
    return Result(case, delay, oracle, len(event_people), early, pages)


def cases(seeds: int, per_seed: int, first_seed: int = 0) -> Iterator[Case]:
    """Surges of every shape and decoys of every kind, drawn log-uniformly, fixed seeds."""
    for seed in range(first_seed, first_seed + seeds):
        rng = random.Random(f"sweep:{seed}")
        for _ in range(per_seed):
            base = math.exp(rng.uniform(math.log(0.2), math.log(50)))
            base = round(base, 2)
            for shape in SHAPES:
                yield Case.crowd(
                    shape,
                    seed,
                    base,
                    rng.uniform(0, 24),
                    int(math.exp(rng.uniform(math.log(100), math.log(5000)))),
                    rng.uniform(1.2, 2.5),
                    rng.choice((10, 20, 30, 60, 90)),
                )
            yield Case.crowd(  # onset late enough that the first surge is on day 4 too
                "reignite",
                seed,
                base,
                rng.uniform(7, 24),
                int(math.exp(rng.uniform(math.log(100), math.log(5000)))),
                rng.uniform(1.2, 2.5),
                rng.choice((10, 20, 30)),
            )
            for decoy, accounts in zip(DECOYS, (1, 4, 15, 0), strict=True):
                yield Case(
                    f"decoy-{decoy}",
                    seed,
                    base,
                    rng.uniform(0, 24),
                    math.exp(rng.uniform(math.log(5), math.log(50))),
                    accounts,
                    120.0,
                )


def quiet_month(seed: int, base: float, sensitivity: Sensitivity, days: int) -> int:
    """`new` pages in `days` of everyday traffic after the warm-up."""
    traffic, detector = warm(seed, base, sensitivity)
    pages = 0
    for i in range(int(days * DAY / BUCKET)):
        t = WARM_DAYS * DAY + i * BUCKET
        pages += detector.update(traffic.stats(t, traffic.everyday(t))).transition == "new"
    return pages


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values):4.0f}  p90 {percentile(values, 0.9):4.0f}  "
        f"worst {max(values):4.0f} min"
    )


def sweep(
    sensitivity: Sensitivity = "medium",
    *,
    seeds: int = 4,
    per_seed: int = 3,
    quiet_bases: tuple[float, ...] = (0.2, 2.0, 20.0),
    quiet_days: int = 30,
    first_seed: int = 0,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> list[str]:
    """Run the sweep and return its report lines. Seeds from `first_seed` on: tune on one
    range and report on another."""
    p = SENSITIVITY[sensitivity].pages_per_month / (30 * DAY / BUCKET)
    warmed: dict[tuple[int, float], tuple[Traffic, CampaignDetector]] = {}
    results: list[Result] = []
    every = list(cases(seeds, per_seed, first_seed))
    for n, case in enumerate(every, 1):
        key = (case.seed, case.base)
        if key not in warmed:
            warmed[key] = warm(case.seed, case.base, sensitivity)
        results.append(run_case(case, warmed[key], p))
        if n % 8 == 0:
            progress(f"sweep: {n}/{len(every)} cases")
    lines = [
        f"scenario sweep at {sensitivity} ({seeds} seeds × {per_seed} draws; base 0.2–50 "
        f"posts/min, surges 5–50× the daily mean, 100–5,000 authors, onsets at any hour):"
    ]
    all_delays: list[float] = []
    all_oracle: list[float] = []
    caught = targets = 0
    for shape in (*SHAPES, "reignite"):
        family = [r for r in results if r.case.family == f"surge-{shape}"]
        target = [r for r in family if r.distinct >= 50 and r.case.multiple >= 5]
        delays = [r.delay for r in target if r.delay is not None]
        oracles = [r.oracle for r in target if r.oracle is not None]
        if shape in SHAPES:  # a re-ignition's line is its own, not in the totals
            caught += len(delays)
            targets += len(target)
            all_delays += delays
            all_oracle += oracles
        lines.append(
            f"  surge-{shape:<12} caught {len(delays):3d}/{len(target):<3d} delay "
            f"{_spread(delays)}  | oracle {_spread(oracles)}"
        )
        for r in target:
            if r.delay is None:
                c = r.case
                lines.append(
                    f"    missed: base {c.base:5.2f}/min {c.multiple:4.1f}× at "
                    f"{c.onset_hour:4.1f} h, rise {c.rise:.0f} min, {r.distinct} authors"
                )
    lines.append(
        f"  all surges ≥5×, ≥50 authors: caught {caught}/{targets}, delay "
        f"{_spread(all_delays)}  | oracle {_spread(all_oracle)}"
    )
    small = [r for r in results if r.case.family.startswith("surge") and r.case.multiple < 5]
    lines.append(
        f"  (surges under 5×, not targets: caught {sum(r.delay is not None for r in small)}"
        f"/{len(small)})"
    )
    for kind in DECOYS:
        family = [r for r in results if r.case.family == f"decoy-{kind}"]
        lines.append(
            f"  decoy-{kind:<13} pages {sum(r.pages for r in family)} in {len(family)} streams"
        )
    early = sum(r.early for r in results)
    lines.append(f"  false pages before onsets (event days): {early} in {len(results)} days")
    total_pages = total_months = 0.0
    for base in quiet_bases:
        for seed in range(first_seed, first_seed + seeds):
            pages = quiet_month(seed, base, sensitivity, quiet_days)
            total_pages += pages
            total_months += quiet_days / 30
        progress(f"sweep: quiet month at {base}/min done")
    lines.append(
        f"  everyday traffic (bases {', '.join(map(str, quiet_bases))}/min, {seeds} seeds × "
        f"{quiet_days} d): {total_pages / total_months:.2f} false pages per playbook-month "
        f"(budget {SENSITIVITY[sensitivity].pages_per_month:.2f})"
    )
    return lines
