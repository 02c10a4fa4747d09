"""Local time beside UTC, across daylight-saving changes, in every place an alert is shown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from responders.alert import Alert
from responders.channels.console import render
from responders.channels.mail import render_html
from responders.codec import decode, encode
from responders.localtime import beside_utc
from responders.params import RespondParams
from responders.slack.blocks import top_message, update_message
from tests.responders.conftest import alert


def test_a_week_across_the_end_of_british_summer_time_keeps_the_local_hour_honest() -> None:
    # Europe/London leaves BST at 01:00 UTC on Sunday 27 October 2024
    noon = [datetime(2024, 10, 24, 12, tzinfo=UTC) + timedelta(days=d) for d in range(7)]
    shown = [beside_utc(moment, "Europe/London") for moment in noon]
    assert shown[:3] == [
        "2024-10-24 12:00 UTC (13:00 BST)",
        "2024-10-25 12:00 UTC (13:00 BST)",
        "2024-10-26 12:00 UTC (13:00 BST)",
    ]
    assert shown[3:] == [
        "2024-10-27 12:00 UTC (12:00 GMT)",
        "2024-10-28 12:00 UTC (12:00 GMT)",
        "2024-10-29 12:00 UTC (12:00 GMT)",
        "2024-10-30 12:00 UTC (12:00 GMT)",
    ]


def test_the_hours_around_a_spring_change_and_a_local_day_that_differs() -> None:
    # America/New_York skips 02:00-03:00 local on 10 March 2024 (07:00 UTC)
    before = datetime(2024, 3, 10, 6, 30, tzinfo=UTC)
    after = before + timedelta(hours=1)
    assert beside_utc(before, "America/New_York") == "2024-03-10 06:30 UTC (01:30 EST)"
    assert beside_utc(after, "America/New_York") == "2024-03-10 07:30 UTC (03:30 EDT)"
    late = datetime(2024, 3, 10, 23, 30, tzinfo=UTC)
    assert beside_utc(late, "Asia/Tokyo") == "2024-03-10 23:30 UTC (Mon 11 Mar 08:30 JST)"
    assert beside_utc(late, "UTC") == beside_utc(late) == "2024-03-10 23:30 UTC"


def test_a_playbook_names_a_real_zone_or_is_told_which() -> None:
    assert RespondParams(timezone="Europe/London").timezone == "Europe/London"
    with pytest.raises(ValueError, match="'Europe/Lndon' is not an IANA time zone"):
        RespondParams(timezone="Europe/Lndon")
    with pytest.raises(ValueError, match="is not an IANA time zone"):
        RespondParams(timezone="../../etc/passwd")


def local(a: Alert, name: str = "Europe/London") -> Alert:
    return replace(a, timezone=name)


def test_console_email_and_slack_show_local_time_beside_utc() -> None:
    a = local(alert())  # fired 2009-10-12 21:40 UTC: 22:40 in London's summer time
    assert "  at 2009-10-12 21:40 UTC (22:40 BST) (onset ~2009-10-12 21:20 UTC (22:20 BST))" in (
        render(a)
    )
    assert "2009-10-12 21:40 UTC (22:40 BST)" in render_html(a)
    top = str(top_message(a).blocks)
    assert "updated 2009-10-12T21:40:00Z (22:40 BST)" in top
    assert "2009-10-12T21:20:00Z (22:20 BST)" in top  # since
    assert "2009-10-12T21:50:00Z (22:50 BST)" in str(
        update_message(local(alert("update", "peaked", 10))).blocks
    )


def test_without_a_zone_nothing_changes() -> None:
    a = alert()
    assert "(22:40 BST)" not in render(a)
    assert "timezone" not in a.to_json()
    assert "BST" not in str(top_message(a).blocks)


def test_the_alert_record_keeps_the_zone_and_the_ndjson_gives_local_times() -> None:
    a = local(alert(), "Australia/Sydney")
    assert decode(encode(a)) == a
    line = a.to_json()
    assert (line["timezone"], line["fired_at_local"]) == (
        "Australia/Sydney", "2009-10-13T08:40:00+11:00",
    )  # fmt: skip
    assert decode(encode(alert())).timezone == ""  # records from before zones decode too
