"""Slack: the Web API responder, its threads and in-call retries, incoming webhooks, Block
Kit messages, safe text, and button actions.
"""

from __future__ import annotations

from responders.slack.actions import Click, ClickError, apply_click, parse_click
from responders.slack.blocks import Message, check_limits, top_message, update_message
from responders.slack.client import SlackResponder
from responders.slack.retry import SlackRetryHandler
from responders.slack.webhook import SlackWebhookResponder

__all__ = [
    "Click",
    "ClickError",
    "Message",
    "SlackResponder",
    "SlackRetryHandler",
    "SlackWebhookResponder",
    "apply_click",
    "check_limits",
    "parse_click",
    "top_message",
    "update_message",
]
