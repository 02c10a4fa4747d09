"""`TermSignificance`: the array model against one series at a time, and its contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from detectors.terms import TermSignificance

STEP = 300.0


def feed(det: TermSignificance, counts: np.ndarray, start: int = 0) -> list[np.ndarray]:
    scores = []
    for i, row in enumerate(counts):
        scores.append(det.score_one((start + i) * STEP, row))
        det.learn_one((start + i) * STEP, row)
    return scores


def series(seed: int, buckets: int = 288 * 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = (np.arange(buckets) * STEP) % 86_400 / 3600
    rates = np.outer(np.where((hours >= 18) & (hours < 22), 3.0, 1.0), [20.0, 4.0, 0.3])
    return rng.poisson(rates).astype(float)


def test_each_column_scores_as_if_it_were_alone() -> None:
    counts = series(1)
    together = np.array(feed(TermSignificance(3, warmup=12), counts))
    for j in range(3):
        alone = np.array(feed(TermSignificance(1, warmup=12), counts[:, [j]]))
        np.testing.assert_allclose(together[:, j], alone[:, 0], rtol=1e-12)


def test_per_column_noise_floors_apply_to_their_own_column() -> None:
    counts = series(2)
    det = TermSignificance(3, warmup=12, noise_floor=np.array([1.5, 1.5, 6.0]))
    loose = TermSignificance(3, warmup=12, noise_floor=1.5)
    a, b = feed(det, counts)[-1], feed(loose, counts)[-1]
    assert a[0] == b[0]
    assert a[1] == b[1]
    assert a[2] != b[2]


def test_warm_up_is_quiet_then_a_quiet_terms_jump_stands_out() -> None:
    counts = series(3)
    det = TermSignificance(3, warmup=288)
    scores = feed(det, counts)
    assert not np.any(scores[0])
    assert not np.any(scores[287])
    jump = det.score_one(len(counts) * STEP + 3 * 3600, np.array([20.0, 4.0, 15.0]))
    assert jump[2] > 3.0 > max(jump[0], jump[1])
    assert np.all(np.isfinite(np.array(scores)))


def test_pickle_round_trip_and_independent_copies() -> None:
    det = TermSignificance(3, warmup=12)
    feed(det, series(4, 100))
    copy = pickle.loads(pickle.dumps(det))
    now, row = 100 * STEP, np.array([30.0, 9.0, 2.0])
    np.testing.assert_array_equal(det.score_one(now, row), copy.score_one(now, row))
    copy.learn_one(now, row * 10)
    assert not np.array_equal(det.score_one(now + STEP, row), copy.score_one(now + STEP, row))


def test_bad_noise_floor_is_named() -> None:
    with pytest.raises(ValueError, match="noise_floor"):
        TermSignificance(2, noise_floor=0.0)
