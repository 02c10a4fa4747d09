"""The sweep's generator and oracle on a handful of cases."""

from __future__ import annotations

from bench import sweep


def test_a_crowds_peak_follows_from_its_size_and_base() -> None:
    small = sweep.Case.crowd("step", 0, 0.5, 12.0, 400, 2.0, 10)
    busy = sweep.Case.crowd("step", 0, 20.0, 12.0, 400, 2.0, 10)
    assert small.multiple > 5 > busy.multiple
    assert sweep.surge_extra(small, -1) == 0.0
    assert sweep.surge_extra(small, 300) == small.multiple * 0.5 * 5


def test_a_clear_step_is_caught_near_the_oracle_and_a_quiet_day_is_not_paged() -> None:
    case = sweep.Case.crowd("step", 0, 1.0, 13.0, 1500, 2.0, 10)
    warmed = sweep.warm(0, 1.0, "medium")
    result = sweep.run_case(case, warmed, p=1e-4)
    assert result.early == 0
    assert result.delay is not None
    assert result.oracle is not None
    assert result.oracle <= result.delay <= result.oracle + 30
    assert sweep.quiet_month(1, 1.0, "medium", days=3) == 0
