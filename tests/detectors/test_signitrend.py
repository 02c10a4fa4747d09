from __future__ import annotations

import math
import pickle
import random

import pytest

from detectors.signitrend import SigniTrend, fading_factor


def batch_ew(values: list[float], alpha: float) -> tuple[float, float]:
    """The Finch EW mean and variance computed from scratch, as an oracle."""
    mean, var = values[0], 0.0
    for x in values[1:]:
        delta = x - mean
        mean += alpha * delta
        var = (1 - alpha) * (var + alpha * delta * delta)
    return mean, var


def test_matches_batch_oracle_after_every_update() -> None:
    rng = random.Random(1)
    det = SigniTrend(half_life=10, noise_floor=1.0, warmup=0)
    values: list[float] = []
    for _ in range(200):
        x = float(rng.randint(0, 20))
        values.append(x)
        det.learn_one(x)
        mean, var = batch_ew(values, fading_factor(10))
        assert math.isclose(det.mean, mean, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(det.std, math.sqrt(var), rel_tol=1e-6, abs_tol=1e-9)


def test_silent_during_warmup_then_scores() -> None:
    det = SigniTrend(half_life=10, noise_floor=1.0, warmup=5)
    for _ in range(4):
        assert det.score_one(100.0) == 0.0
        det.learn_one(1.0)
    det.learn_one(1.0)
    assert det.score_one(100.0) > 40


def test_noise_floor_stops_rare_terms_from_paging() -> None:
    det = SigniTrend(half_life=48, noise_floor=3.0, warmup=0)
    for _ in range(100):
        det.learn_one(0.0)
    assert det.score_one(2.0) < 0  # two mentions of a silent term are not a burst
    assert det.score_one(30.0) == pytest.approx((30 - 3) / 3)


def test_pickle_round_trip_keeps_state_and_clones_are_independent() -> None:
    det = SigniTrend(half_life=10, noise_floor=1.0, warmup=0)
    for x in (1.0, 2.0, 3.0):
        det.learn_one(x)
    copy = pickle.loads(pickle.dumps(det))
    assert copy.score_one(9.0) == det.score_one(9.0)
    copy.learn_one(50.0)
    assert copy.mean != det.mean


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="noise_floor=0 must be positive"):
        SigniTrend(noise_floor=0)
    with pytest.raises(ValueError, match="half_life=-1 must be positive"):
        fading_factor(-1)
