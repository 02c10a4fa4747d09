"""Local time beside UTC, for the people reading an alert in their own time zone.

A playbook's `respond.timezone` names an IANA zone (`Europe/London`); alerts carry it, and
every renderer shows the moment in UTC first (the one time that is unambiguous across a
team and a log) and the local time beside it, with the zone's abbreviation, which tells
summer time from winter time. The zone data comes from the system or the `tzdata` package,
through the standard library's `zoneinfo`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or `ValueError` saying what is wanted.

    >>> zone("Europe/London").key
    'Europe/London'
    >>> zone("Europe/Lndon")
    Traceback (most recent call last):
    ...
    ValueError: 'Europe/Lndon' is not an IANA time zone; give one such as Europe/London ...
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone; give one such as Europe/London or America/New_York"
        ) from None


def beside_utc(moment: datetime, name: str = "") -> str:
    """`moment` to the minute in UTC, then in the zone `name` (the local date only when it
    differs from the UTC one); just UTC without a zone.

    >>> from datetime import UTC, datetime
    >>> beside_utc(datetime(2009, 10, 12, 21, 40, tzinfo=UTC), "Europe/London")
    '2009-10-12 21:40 UTC (22:40 BST)'
    >>> beside_utc(datetime(2009, 12, 12, 21, 40, tzinfo=UTC), "Australia/Sydney")
    '2009-12-12 21:40 UTC (Sun 13 Dec 08:40 AEDT)'
    >>> beside_utc(datetime(2009, 10, 12, 21, 40, tzinfo=UTC))
    '2009-10-12 21:40 UTC'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") + local_suffix(moment, name)


def local_suffix(moment: datetime, name: str = "") -> str:
    """` (22:40 BST)`: what to put after a UTC time for the zone `name` ("" without one).

    >>> from datetime import UTC, datetime
    >>> local_suffix(datetime(2009, 10, 12, 21, 40, tzinfo=UTC), "America/New_York")
    ' (17:40 EDT)'
    """
    if not name or name == "UTC":
        return ""
    utc = moment.astimezone(UTC)
    local = utc.astimezone(zone(name))
    day = "" if local.date() == utc.date() else local.strftime("%a %d %b ")
    return f" ({day}{local.strftime('%H:%M %Z')})"
