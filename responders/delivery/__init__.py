"""Durable delivery: the SQLite outbox, the staged dispatcher that retries from it, and the
channel-neutral record of what people said about a campaign (`Feedback`).
"""

from __future__ import annotations

from responders.delivery.dispatch import Dispatcher, RetrySchedule, Tally
from responders.delivery.feedback import Feedback, FeedbackAction
from responders.delivery.outbox import Outbox

__all__ = ["Dispatcher", "Feedback", "FeedbackAction", "Outbox", "RetrySchedule", "Tally"]
