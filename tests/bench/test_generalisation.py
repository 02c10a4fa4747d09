"""The generalisation figures' parts: spikes land outside the windows, folds tune on four."""

from __future__ import annotations

from bench import generalisation, nab


def test_spikes_are_one_bucket_heavy_tailed_and_outside_the_windows() -> None:
    rows = [(i * 300.0, 10.0) for i in range(14_400)]
    windows = [(1000, 1400)]
    spiked = list(rows)
    generalisation.inject_spikes("x", spiked, windows)
    changed = [i for i, (a, b) in enumerate(zip(rows, spiked, strict=True)) if a != b]
    assert 60 < len(changed) < 140  # about one per 144 rows
    assert not any(1000 <= i <= 1400 for i in changed)
    multiples = [spiked[i][1] / 10.0 for i in changed]
    assert min(multiples) >= 3.0
    assert max(multiples) <= 50.0
    assert sum(m > 10 for m in multiples) < sum(m < 10 for m in multiples)  # a tail, not flat


def test_leave_one_out_scores_each_file_at_the_level_its_other_files_chose() -> None:
    def score(name: str, raw: float) -> nab.FileScore:
        return nab.FileScore(name, raw, 2, 1, 0, ())

    names = ["a", "b", "c"]
    by_level = {
        "low": [score(n, -2.0) for n in names],
        "medium": [score(n, 0.0) for n in names],
        "high": [score("a", 2.0), score("b", 1.0), score("c", -2.0)],
    }
    lines = generalisation.leave_one_out(by_level)  # type: ignore[arg-type]
    # on a's fold, b and c average -0.5 at high against 0.0 at medium: medium is chosen
    assert "chosen medium" in lines[1]
    assert "chosen high" in lines[3]
