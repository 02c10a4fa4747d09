"""The held-out families' generator draws what issue 13 describes, and the reference pages."""

from __future__ import annotations

from bench import heldout
from bench.naive import NaiveReference


def test_the_families_are_drawn_from_the_issues_ranges() -> None:
    for seed in range(8):
        ramp = heldout.make_case("ramp", seed).timed
        assert ramp.shape == "quadratic"
        assert 30 * 60 <= ramp.rise <= 90 * 60
        assert 8 <= ramp.multiple <= 40
        assert 160 <= len(ramp.times) <= 1500
        night = heldout.make_case("night", seed).timed
        assert 0.5 <= night.ramp % heldout.DAY / 3600 <= 4.5
        assert 4 <= night.multiple <= 6
        reignite = heldout.make_case("reignite", seed)
        first, second = reignite.surges
        assert abs(second.ramp - first.end - 4.5 * 3600) < 1e-6
        assert 0.5 <= second.ramp % heldout.DAY / 3600 <= 4.5
        assert set(first.times) & set(second.times)  # some of the crowd comes back


def test_participation_is_heavy_tailed() -> None:
    surge = heldout.make_case("ramp", 3).timed
    counts = sorted(map(len, surge.times.values()))
    once = sum(c == 1 for c in counts) / len(counts)
    assert 0.6 < once < 0.9
    assert counts[-1] >= 5  # a few loud ones


def test_the_naive_reference_pages_on_a_jump_in_distinct_authors_once() -> None:
    ref = NaiveReference()
    assert not any(ref.update(3 + i % 2) for i in range(400))
    assert [ref.update(40) for _ in range(3)] == [True, False, False]
