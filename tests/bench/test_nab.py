from __future__ import annotations

import math

import pytest

from bench.nab import FileScore, normalised, probation, score_file, sigmoid, window_rows
from tests.conftest import SHARED_DATA


def test_sigmoid_matches_the_published_values() -> None:
    assert sigmoid(-1.0) == pytest.approx(0.98661429815)
    assert sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert sigmoid(0.5) == pytest.approx(-0.84828, abs=1e-5)
    assert sigmoid(3.0001) == -1.0


def test_probation_is_fifteen_percent_capped_at_750() -> None:
    assert probation(20) == 3
    assert probation(4000) == 600
    assert probation(15_902) == 750


def test_hand_scored_series() -> None:
    # 20 rows: probation 3; windows rows 10..13 (W=4) and 17..19 (missed).
    detected = [False] * 20
    for row in (1, 5, 11, 12, 15):
        detected[row] = True
    result = score_file("tiny", detected, [(10, 13), (17, 19)])
    in_window = (2 / (1 + math.exp(-3.75)) - 1) / (2 / (1 + math.exp(-5)) - 1)  # y = -3/4
    after = 0.11 * (2 / (1 + math.exp(5 * 2 / 3)) - 1)  # two rows past a W=4 window: y = 2/3
    expected = -0.11 + in_window + after - 1.0  # row 1 is probation, row 12 a repeat hit
    assert result.raw == pytest.approx(expected, abs=1e-12)
    assert result.raw == pytest.approx(-0.245432, abs=1e-6)
    assert (result.windows, result.hit, result.false_alarms) == (2, 1, 2)
    assert result.detections == (5, 11, 12, 15)
    assert normalised([result]) == pytest.approx(100 * (expected + 2) / 4)


def test_perfect_and_null_detectors_score_100_and_0() -> None:
    windows = [(10, 13), (17, 19)]
    perfect = [row in (10, 17) for row in range(20)]
    assert normalised([score_file("p", perfect, windows)]) == pytest.approx(100.0)
    assert normalised([score_file("n", [False] * 20, windows)]) == pytest.approx(0.0)


def test_windows_are_found_by_exact_timestamp() -> None:
    stamps = [f"2015-03-01 00:{m:02d}:53" for m in range(0, 60, 5)]
    assert window_rows(stamps, [("2015-03-01 00:10:53.000000", "2015-03-01 00:20:53")]) == [(2, 4)]
    with pytest.raises(ValueError, match="is not in the file"):
        window_rows(stamps, [("2015-03-01 00:11:00", "2015-03-01 00:20:53")])


@pytest.mark.data
@pytest.mark.skipif(not (SHARED_DATA / "nab").exists(), reason="needs ../shared/data/nab")
def test_real_series_score_in_range() -> None:
    from bench.nab import run

    results = run(SHARED_DATA / "nab")
    assert len(results) == 5
    assert all(isinstance(r, FileScore) for r in results)
    assert sum(r.windows for r in results) == 16
    assert -100 <= normalised(results) <= 100


def test_baselines_alert_once_per_event() -> None:
    from bench.nab import half_space_trees, once_per_event

    assert once_per_event([False, True, True, False, True, False, False, True], calm=2) == [
        0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
    ]  # fmt: skip
    rows = [(i * 300.0, 10.0 + (i % 7)) for i in range(600)] + [(600 * 300.0, 500.0)]
    scores = half_space_trees(rows)
    assert len(scores) == len(rows)
    assert set(scores) <= {0.0, 1.0}
