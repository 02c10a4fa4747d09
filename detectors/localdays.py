"""Hour-of-day and weekend slots on the local days of a time zone.

A seasonal baseline learns what each hour of a weekday or weekend usually holds. People
keep local hours: a London team's Monday-morning rush is 08:00 in London, 07:00 UTC in
summer and 08:00 UTC in winter, and a New York Sunday evening is already Monday in UTC. So
the slot of a bucket is read on the playbook's local clock (an IANA zone, daylight saving
included), and on UTC when no zone is named. The zone database is the standard library's
`zoneinfo`: data, not I/O at scoring time (a zone is loaded once, when it is named).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HOUR = 3600.0
DAY = 86_400.0
#: 1970-01-01 was a Thursday: day index + 3 is 0 on Mondays.
_MONDAY_OFFSET = 3


def slot_of(start: float) -> int:
    """The hour of the UTC day (0–23), plus 24 on Saturdays and Sundays.

    >>> slot_of(4 * DAY + 9 * HOUR), slot_of(2 * DAY + 9 * HOUR)  # Monday, Saturday 09:00
    (9, 33)
    """
    day = int(start // DAY)
    weekend = (day + _MONDAY_OFFSET) % 7 >= 5
    return int(start % DAY // HOUR) + (24 if weekend else 0)


class LocalDays:
    """The slot (`slot_of`) of an epoch-seconds bucket start on a zone's local clock.

    Examples
    --------
    Sunday 2009-11-01, 21:00 in New York is Monday 02:00 UTC: a weekend evening locally.

    >>> sunday_evening = datetime(2009, 11, 2, 2, tzinfo=UTC).timestamp()
    >>> LocalDays("America/New_York").slot(sunday_evening), LocalDays().slot(sunday_evening)
    (45, 2)

    The offset follows daylight saving: 08:00 in London is slot 8 on either side of the
    change on 2009-10-25, though it is 07:00 UTC before and 08:00 UTC after.

    >>> london = LocalDays("Europe/London")
    >>> friday = datetime(2009, 10, 23, 7, tzinfo=UTC).timestamp()
    >>> monday = datetime(2009, 10, 26, 8, tzinfo=UTC).timestamp()
    >>> london.slot(friday), london.slot(monday)
    (8, 8)
    """

    def __init__(self, zone: str = "") -> None:
        self.zone = zone
        self._tz = ZoneInfo(zone) if zone else None
        # Offsets change a few times a year, on the hour: one look-up per UTC hour is exact.
        self._hour = math.nan
        self._offset = 0.0

    def offset(self, start: float) -> float:
        """Seconds the local clock is ahead of UTC at `start` (0.0 with no zone)."""
        if self._tz is None:
            return 0.0
        hour = start // HOUR
        if hour != self._hour:
            delta = datetime.fromtimestamp(hour * HOUR, UTC).astimezone(self._tz).utcoffset()
            self._hour, self._offset = hour, delta.total_seconds() if delta else 0.0
        return self._offset

    #: The last bucket start asked for and its slot (class defaults, so checkpoints pickled
    #: before it load): a close asks each of a playbook's baselines, and every playbook
    #: shares `UTC_DAYS`, so the same start comes some ten times in a row.
    _slot_start = math.nan
    _slot = 0

    def slot(self, start: float) -> int:
        if start != self._slot_start:
            self._slot_start, self._slot = start, slot_of(start + self.offset(start))
        return self._slot

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalDays) and other.zone == self.zone

    def __hash__(self) -> int:
        return hash(self.zone)

    def __repr__(self) -> str:
        return f"LocalDays({self.zone!r})"


#: UTC days, shared: what every baseline used before zones, and what old checkpoints load as.
UTC_DAYS = LocalDays()
