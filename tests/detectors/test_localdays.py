"""Baselines on the team's local days: hour slots and weekends read on its clock, DST included."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

from detectors import CampaignDetector
from detectors.localdays import UTC_DAYS, LocalDays, slot_of
from detectors.seasonal import SeasonalSigniTrend

NEW_YORK = "America/New_York"
BUCKET = 300.0


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def test_no_zone_is_utc() -> None:
    for start in (0.0, at(2009, 10, 25, 0, 59), at(2009, 11, 2, 2)):
        assert LocalDays().slot(start) == slot_of(start)
        assert LocalDays().offset(start) == 0.0


def test_a_week_across_the_end_of_british_summer_time() -> None:
    """Every day of the week of 2009-10-25 (BST ends 01:00 UTC that Sunday), at 08:00 local."""
    london = LocalDays("Europe/London")
    for day in range(19, 27):  # Monday 19th to Monday 26th
        summer = day < 25
        start = at(2009, 10, day, 7 if summer else 8)
        weekend = day in (24, 25)
        assert london.slot(start) == 8 + (24 if weekend else 0), day
        assert london.offset(start) == (3600.0 if summer else 0.0)
    # the last hour of British summer time and the first hour after it
    assert london.slot(at(2009, 10, 25, 0, 30)) == 24 + 1  # 01:30 BST, Sunday
    assert london.slot(at(2009, 10, 25, 1, 30)) == 24 + 1  # 01:30 GMT, again


def test_the_new_york_spring_gap() -> None:
    """2010-03-14 02:00 EST jumps to 03:00 EDT: the local hour 2 never happens that night."""
    new_york = LocalDays(NEW_YORK)
    slots = [new_york.slot(at(2010, 3, 14, hour)) for hour in (5, 6, 7, 8)]
    assert slots == [24 + 0, 24 + 1, 24 + 3, 24 + 4]  # Sunday 00:00, 01:00, 03:00, 04:00


def test_a_weekend_evening_in_new_york_is_a_utc_monday() -> None:
    sunday_evening = at(2009, 11, 2, 2)  # Sunday 21:00 EST
    assert LocalDays(NEW_YORK).slot(sunday_evening) == 24 + 21
    assert UTC_DAYS.slot(sunday_evening) == 2


def learned(zone: str) -> SeasonalSigniTrend:
    """Three weeks across New York's 2009 DST end, busy only 08:00–10:00 on local weekdays."""
    baseline = SeasonalSigniTrend(days=LocalDays(zone))
    tz = LocalDays(NEW_YORK)
    start = at(2009, 10, 19)
    for i in range(int(21 * 86_400 / BUCKET)):
        t = start + i * BUCKET
        local = datetime.fromtimestamp(t + tz.offset(t), UTC)
        busy = local.weekday() < 5 and 8 <= local.hour < 10
        baseline.learn_one(t, 40.0 if busy else 4.0)
    return baseline


def test_a_local_rush_is_learned_in_its_local_slot_on_both_sides_of_dst() -> None:
    local, utc = learned(NEW_YORK), learned("")
    after = at(2009, 11, 10, 14)  # Tuesday 09:00 EST, after the clock change (13:00 UTC before)
    before = at(2009, 10, 27, 13)  # Tuesday 09:00 EDT
    sunday_rush_hour = at(2009, 11, 8, 14)  # Sunday 09:00 EST: no rush on weekends
    for t in (after, before):
        assert local.expected(t) > 30  # the rush is where the team's clock puts it
    # On UTC slots the rush is smeared over two hours, and half of it is in the wrong one.
    assert utc.expected(after) < local.expected(after) * 0.8
    assert local.expected(sunday_rush_hour) < 8
    # A rush-sized count at the weekday rush is everyday; the same count on Sunday is not.
    assert local.score_one(after, 42.0) < 1.0 < local.score_one(sunday_rush_hour, 42.0)


def test_the_detector_keeps_its_zone_through_a_checkpoint() -> None:
    detector = CampaignDetector(terms=3, zone=NEW_YORK)
    restored = pickle.loads(pickle.dumps(detector))
    assert restored.volume.days == LocalDays(NEW_YORK)
    assert restored.volume.days.slot(at(2009, 11, 2, 2)) == 24 + 21


def test_a_checkpoint_from_before_zones_loads_as_utc() -> None:
    baseline = SeasonalSigniTrend()
    state = baseline.__dict__.copy()
    del state["days"]  # what a baseline pickled before zones holds
    old = SeasonalSigniTrend.__new__(SeasonalSigniTrend)
    old.__dict__.update(state)
    assert old.days is UTC_DAYS
    assert old.shape(at(2009, 11, 2, 2)) == 1.0


def test_the_offset_is_read_once_an_hour_and_exact_at_the_change() -> None:
    london = LocalDays("Europe/London")
    change = at(2009, 10, 25, 1)
    assert london.offset(change - 1) == 3600.0
    assert london.offset(change) == 0.0
    assert london.offset(change + timedelta(minutes=59).total_seconds()) == 0.0
