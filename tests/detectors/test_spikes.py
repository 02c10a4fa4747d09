"""The bare-series bar for isolated one-bucket spikes: spiky series learn, quiet ones page."""

from __future__ import annotations

import pickle
import random

from detectors.base import BucketStats
from detectors.campaign import CALM_SIGNIFICANCE, CampaignDetector, Decision
from detectors.spikes import MEMORY, MONTH_S, IsolatedSpikes

STEP = 300.0
DAY = 86_400.0
MONDAY = 4 * DAY  # 1970-01-05 was a Monday
SPIKE_EVERY = 96  # buckets: three spikes a day, ninety a month against a budget of one


def bare_series(days: int, *, spiky: bool, seed: int = 5) -> list[BucketStats]:
    """About ten posts a bucket, with (if `spiky`) a one-bucket spike of 60 every 8 hours."""
    rng = random.Random(seed)
    rows = []
    for i in range(int(days * DAY / STEP)):
        posts = rng.randint(8, 12)
        if spiky and i % SPIKE_EVERY == 50:
            posts = 60
        rows.append(BucketStats(MONDAY + i * STEP, posts))
    return rows


def run(det: CampaignDetector, rows: list[BucketStats]) -> list[Decision]:
    return [det.update(row) for row in rows]


def test_a_series_that_spikes_often_learns_its_spikes_are_normal() -> None:
    det = CampaignDetector()
    decisions = run(det, bare_series(10, spiky=True))
    paged = [d.start for d in decisions if d.transition == "new"]
    assert paged  # its first spikes are news ...
    assert all(start < MONDAY + 3 * DAY for start in paged)  # ... those after day 3 are not
    bar = det.thresholds.significance
    spikes = [d for d in decisions if d.start >= MONDAY + 3 * DAY and d.score >= bar]
    assert len(spikes) >= 20  # though each of them is still over the ordinary bar


def test_a_quiet_series_still_pages_on_its_first_one_bucket_spike() -> None:
    det = CampaignDetector()
    quiet = run(det, bare_series(10, spiky=False))
    assert not any(d.transition for d in quiet)
    spike, after = run(
        det, [BucketStats(MONDAY + 10 * DAY, 60), BucketStats(MONDAY + 10 * DAY + STEP, 10)]
    )
    assert spike.transition == "new"  # no past spikes: nothing to hold it to
    assert after.transition is None


def test_a_rise_that_holds_into_a_second_bucket_pages_even_in_a_spiky_series() -> None:
    det = CampaignDetector()
    run(det, bare_series(10, spiky=True))
    end = MONDAY + 10 * DAY + 50 * STEP  # between two of its usual spikes
    first, second = run(det, [BucketStats(end, 60), BucketStats(end + STEP, 30)])
    assert first.transition is None  # on its own, one more of its usual spikes
    assert second.transition == "new"  # not back to calm: a rise that holds, one bucket late


def test_checkpoint_between_a_spike_and_the_bucket_that_judges_it() -> None:
    det = CampaignDetector()
    rows = bare_series(6, spiky=True)
    split = int(5 * DAY / STEP) + 50  # just after a spike: it is over the line, not yet judged
    run(det, rows[: split + 1])
    assert det._over is not None
    assert det._pending is not None
    copy = pickle.loads(pickle.dumps(det))
    assert run(copy, rows[split + 1 :]) == run(det, rows[split + 1 :])
    assert copy._spikes is not None
    assert det._spikes is not None
    assert copy._spikes._sorted == det._spikes._sorted


def test_a_checkpoint_from_before_the_spike_bar_loads_and_learns_spikes() -> None:
    det = CampaignDetector()
    rows = bare_series(10, spiky=True)
    run(det, rows[:288])
    for name in ("_spikes", "_over", "_pending"):  # what an older checkpoint lacks
        det.__dict__.pop(name, None)
    restored: CampaignDetector = pickle.loads(pickle.dumps(det))
    late = run(restored, rows[288:])
    assert restored._spikes is not None
    assert not any(d.transition == "new" for d in late if d.start >= MONDAY + 4 * DAY)


def test_memory_is_bounded_and_time_counts_from_the_oldest_spike_kept() -> None:
    spikes = IsolatedSpikes(pages_per_month=1.0)
    spikes.start(0.0)
    for k in range(MEMORY + 100):
        spikes.record(float(k), at=k * 3600.0)
    assert len(spikes._sorted) == MEMORY
    assert spikes._sorted[0] == 100.0  # the oldest were forgotten
    # ~10.7 days of kept spikes, not the 14.8 since the start: 0.36 pages allowed, not 0.49
    at = (MEMORY + 100) * 3600.0
    assert not spikes.may_page(float(MEMORY + 99), at=at)  # one past tie counts a half
    assert spikes.may_page(float(MEMORY + 100), at=at)


def test_ties_count_half_and_the_budget_grows_with_time() -> None:
    spikes = IsolatedSpikes(pages_per_month=1.0)
    spikes.start(0.0)
    spikes.record(5.0, at=DAY)
    assert not spikes.may_page(5.0, at=0.4 * MONTH_S)  # 0.5 > 0.4 pages allowed
    assert spikes.may_page(5.0, at=0.6 * MONTH_S)
    assert not spikes.may_page(4.0, at=0.6 * MONTH_S)  # one whole spike above: 1 > 0.6


def test_a_past_spike_counts_only_clipped_in_the_hour_view() -> None:
    """One bucket of 300 among tens: the next hour's view is back to calm at once, not held
    over the line for an hour by the spike it already judged."""
    det = CampaignDetector()
    run(det, bare_series(6, spiky=False))
    end = MONDAY + 6 * DAY
    spike, *after = run(
        det, [BucketStats(end + k * STEP, 300 if k == 0 else 10) for k in range(12)]
    )
    assert spike.score >= det.thresholds.significance
    assert det._learned is not None
    assert det._learned[0] < 60  # the spike, as learned: clipped
    assert max(d.score for d in after) < CALM_SIGNIFICANCE


def test_a_checkpoint_from_before_the_learned_hour_loads_and_goes_on() -> None:
    det = CampaignDetector()
    rows = bare_series(4, spiky=True)
    run(det, rows[:600])
    copy = pickle.loads(pickle.dumps(det))
    assert copy._learned == det._learned  # the new state round-trips
    del det.__dict__["_learned"]  # what an older checkpoint lacks
    restored: CampaignDetector = pickle.loads(pickle.dumps(det))
    late = run(restored, rows[600:])
    assert restored._learned is not None
    assert len(restored._learned) == restored.window
    assert run(copy, rows[600:])[12:] == late[12:]  # one hour on, the two agree exactly
