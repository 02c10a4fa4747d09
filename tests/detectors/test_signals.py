"""Each detection signal on its own: seasonality, noise floor, rarity, crowd gates, acceleration."""

from __future__ import annotations

import math
import pickle
import random

from detectors.base import BucketStats
from detectors.campaign import CampaignDetector, Decision
from detectors.params import DetectParams
from detectors.seasonal import SeasonalSigniTrend, slot_of
from detectors.series import score_series

STEP = 300.0
DAY = 86_400.0
MONDAY = 4 * DAY  # 1970-01-05 was a Monday


def everyday(i: int, rng: random.Random) -> BucketStats:
    """About two posts a bucket by night, eight in the evening, from as many people."""
    hour = (i * STEP) % DAY / 3600
    mean = 8.0 if 18 <= hour < 22 else 2.0
    posts = sum(rng.random() < mean / 20 for _ in range(20))
    return BucketStats(MONDAY + i * STEP, posts, posts, 1 / posts if posts else 0.0)


def warm(det: CampaignDetector, days: int = 4, seed: int = 0) -> int:
    rng = random.Random(seed)
    n = int(days * DAY / STEP)
    for i in range(n):
        det.update(everyday(i, rng))
    return n


def news(decisions: list[Decision]) -> int:
    return sum(d.transition == "new" for d in decisions)


def test_slots_split_hours_and_weekends() -> None:
    assert slot_of(MONDAY) == 0
    assert slot_of(MONDAY + 13.5 * 3600) == 13
    assert slot_of(MONDAY + 5 * DAY + 3600) == 24 + 1  # Saturday 01:00


def test_noise_floor_is_the_series_own_lower_quartile() -> None:
    busy = SeasonalSigniTrend(noise_floor=1.5, warmup=0)
    quiet = SeasonalSigniTrend(noise_floor=1.5, warmup=0)
    for i in range(500):
        busy.learn_one(i * STEP, 100.0 + i % 10)
        quiet.learn_one(i * STEP, float(i % 2))
    assert 100 <= busy.beta <= 105
    assert quiet.beta == 1.5


def test_the_daily_peak_is_not_a_burst_but_a_night_crowd_is() -> None:
    det = CampaignDetector()
    n = warm(det)
    rng = random.Random(9)
    day = [det.update(everyday(n + i, rng)) for i in range(288)]
    assert news(day) == 0
    night = n + 288 + 12 * 3  # 03:00
    burst = [det.update(BucketStats(MONDAY + (night + i) * STEP, 20, 20, 1 / 20)) for i in range(3)]
    assert news(burst) == 1


def test_one_account_or_a_handful_never_open_a_campaign() -> None:
    for authors, share in ((1, 1.0), (4, 0.4), (6, 0.2)):
        det = CampaignDetector()
        n = warm(det)
        flood = [
            det.update(BucketStats(MONDAY + (n + i) * STEP, 40, authors, share)) for i in range(12)
        ]
        assert news(flood) == 0, (authors, share)


def test_a_crowd_opens_a_campaign_within_one_or_two_buckets() -> None:
    det = CampaignDetector()
    n = warm(det)
    ramp = [6, 14, 30, 60]
    decisions = [
        det.update(BucketStats(MONDAY + (n + i) * STEP, x, x, 1 / x)) for i, x in enumerate(ramp)
    ]
    opened = [i for i, d in enumerate(decisions) if d.transition == "new"]
    assert opened
    assert opened[0] <= 2  # within 15 minutes of the first raised bucket
    assert decisions[opened[0]].acceleration >= 1.8


def test_slow_growth_over_days_does_not_page() -> None:
    det = CampaignDetector()
    rng = random.Random(4)
    decisions = []
    for i in range(int(6 * DAY / STEP)):
        mean = 3.0 * math.exp(math.log(1.5) * i * STEP / DAY)  # +50 % a day for six days
        posts = sum(rng.random() < mean / 60 for _ in range(60))
        decisions.append(det.update(BucketStats(MONDAY + i * STEP, posts, posts, 0.1)))
    assert news(decisions) == 0


def test_rarity_a_term_that_spikes_often_needs_a_bigger_spike() -> None:
    def run(final: int) -> tuple[list[int], Decision]:
        det = CampaignDetector(terms=2)
        rng = random.Random(2)
        fired = []
        for i in range(int(8 * DAY / STEP)):
            posts = 60 if i % 576 == 150 else rng.randint(1, 3)  # a spike every other day
            if det.update(BucketStats(MONDAY + i * STEP, posts)).transition == "new":
                fired.append(i // 288)
        return fired, det.update(BucketStats(MONDAY + 8 * DAY + 200 * STEP, final))

    fired, smaller = run(25)
    # The first spike pages; then, at one every other day (15 a month against a budget of
    # one), the bare series has learned its one-bucket spikes are its usual (detectors.spikes).
    assert fired == [0]
    assert smaller.score > 3  # significant against the baseline...
    assert smaller.transition is None  # ...but well under what this term usually does
    _, bigger = run(300)
    assert bigger.transition == "new"


def test_detector_survives_pickle_and_clones_are_independent() -> None:
    det = CampaignDetector()
    n = warm(det, days=2)
    copy = pickle.loads(pickle.dumps(det))
    step = BucketStats(MONDAY + n * STEP, 50, 50, 0.02)
    assert det.update(step) == copy.update(step)
    copy.update(BucketStats(MONDAY + (n + 1) * STEP, 500, 500, 0.002))
    assert copy.volume.n == det.volume.n + 1


def test_score_series_is_causal_bounded_and_alerts_once_per_event() -> None:
    rng = random.Random(8)
    rows = [(MONDAY + i * STEP, float(rng.randint(40, 60))) for i in range(600)]
    rows[500:506] = [(ts, 600.0) for ts, _ in rows[500:506]]  # one event, six rows long
    scores = score_series(rows)
    assert len(scores) == len(rows)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert [i for i, s in enumerate(scores) if s >= 0.5] == [500]
    assert score_series(rows[:450]) == scores[:450]


def test_warm_up_is_quiet() -> None:
    det = CampaignDetector(DetectParams(warmup_hours=12))
    first = [
        det.update(BucketStats(MONDAY + i * STEP, 0 if i < 100 else 80, 80, 0.01))
        for i in range(140)
    ]
    assert news(first) == 0  # 140 buckets < 12 hours: nothing can page yet


def test_a_slow_crowd_counts_by_its_hour_but_a_slow_loud_account_does_not() -> None:
    def run(crowd: bool) -> list[Decision]:
        det = CampaignDetector()
        rng = random.Random(6)
        n = int(2 * DAY / STEP)
        for i in range(n):  # a quiet term: none or one post a bucket
            posts = rng.randint(0, 1)
            det.update(BucketStats(MONDAY + i * STEP, posts, posts, 1.0, posts, 1.0))
        out = []
        for i in range(12):  # five posts a bucket: never eight people in one bucket
            people = 5 * (i + 1) if crowd else 1
            authors = 5 if crowd else 1
            stats = BucketStats(
                MONDAY + (n + i) * STEP, 5, authors, 1 / authors, people, 1 / people
            )
            out.append(det.update(stats))
        return out

    assert news(run(crowd=True)) == 1
    assert news(run(crowd=False)) == 0


def test_a_ring_of_accounts_under_the_share_gate_does_not_page_but_a_crowd_does() -> None:
    """Fifteen accounts at 7 % each pass the top-share gate; their repeats give them away."""

    def surge(voices: float, hour_voices: float) -> int:
        det = CampaignDetector()
        n = warm(det)
        buckets = [
            BucketStats(
                MONDAY + (n + i) * STEP,
                40,
                15 if voices < 40 else 40,
                0.07 if voices < 40 else 0.025,
                hour_authors=15 if voices < 40 else 40 * (i + 1),
                hour_top_share=0.07 if voices < 40 else 0.025,
                effective_authors=voices,
                hour_effective_authors=hour_voices * (1 if voices < 40 else i + 1),
            )
            for i in range(12)
        ]
        return news([det.update(b) for b in buckets])

    assert surge(voices=14.0, hour_voices=14.5) == 0  # ~3 posts per voice, then ~30 an hour
    assert surge(voices=40.0, hour_voices=40.0) == 1  # everyone posts once


def test_one_term_surging_in_a_busy_playbook_pages_by_its_own_baseline() -> None:
    """A busy term hides a quiet term's crowd in the total; the term's own baseline does not."""
    from detectors.base import TermStats

    def run(surge_authors: int) -> list[Decision]:
        det = CampaignDetector(terms=2)
        rng = random.Random(2)
        n = int(4 * DAY / STEP)

        def bucket(i: int, extra: int) -> BucketStats:
            busy = 60 + rng.randint(-25, 25)  # a broad term with a wide everyday swing
            quiet = rng.randint(0, 1) + extra
            people = busy + quiet
            voices = extra if surge_authors else 1
            return BucketStats(
                MONDAY + i * STEP,
                people,
                people,
                1 / people,
                hour_authors=12 * people,
                hour_top_share=1 / people,
                effective_authors=float(people),
                hour_effective_authors=12.0 * people,
                terms={
                    0: TermStats(busy, busy, 1 / busy, float(busy)),
                    1: TermStats(quiet, max(quiet, 1) if surge_authors else 1, 1 / max(voices, 1)),
                },
            )

        for i in range(n):
            det.update(bucket(i, 0))
        return [det.update(bucket(n + i, 12 + 6 * i)) for i in range(6)]

    crowd = run(surge_authors=1)
    assert news(crowd) == 1
    opened = next(d for d in crowd if d.transition == "new")
    assert opened.score < 3.0  # the total alone did not reach `significance`
    assert opened.term_scores[1] > opened.term_scores[0]
    assert news(run(surge_authors=0)) == 0  # the same volume from one account: no


def test_sensitivities_are_ordered_gate_by_gate() -> None:
    """`high` is never stricter than `medium` on any gate, nor `medium` than `low`."""
    from detectors.params import SENSITIVITY

    low, medium, high = SENSITIVITY["low"], SENSITIVITY["medium"], SENSITIVITY["high"]
    for field in ("significance", "rarity", "min_authors", "crowd_significance"):
        assert getattr(low, field) >= getattr(medium, field) >= getattr(high, field), field
    assert low.min_acceleration >= medium.min_acceleration >= high.min_acceleration
    for field in ("max_top_share", "max_posts_per_voice"):
        assert getattr(low, field) <= getattr(medium, field) <= getattr(high, field), field
