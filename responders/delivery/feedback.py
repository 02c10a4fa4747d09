"""What a person said about a campaign, whatever channel they said it in.

A Slack button click, and any later channel's equivalent, is recorded as `Feedback`: who did
which `FeedbackAction` to a campaign. The outbox stores it and delivery reads it back (a
campaign marked "Not a campaign" pings nobody again); the Slack blocks only draw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FeedbackAction = Literal["ack", "snooze", "not_campaign"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """A button click, as recorded: who did what to which campaign."""

    action: FeedbackAction
    user_id: str
    user_name: str


def feedback_action(value: str) -> FeedbackAction:
    """`value` as a `FeedbackAction`, or `ValueError` naming the ones there are.

    >>> feedback_action("snooze")
    'snooze'
    """
    if value == "ack":
        return "ack"
    if value == "snooze":
        return "snooze"
    if value == "not_campaign":
        return "not_campaign"
    raise ValueError(f"feedback action {value!r} is not one of ack, snooze, not_campaign")
