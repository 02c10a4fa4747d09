"""The buttons on a campaign message: Acknowledge, Snooze playbook, Not a campaign.

The watcher verifies Slack's request signature and hands the decoded `block_actions`
payload here. A click is recorded in the outbox's SQLite file, a snooze silences the
playbook until it expires, and every message of the campaign is redrawn to show who did what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from responders.delivery.feedback import Feedback, FeedbackAction
from responders.delivery.outbox import Outbox
from responders.params import RespondParams
from responders.slack.blocks import ACTION_IDS
from responders.slack.client import SlackResponder


class ClickError(ValueError):
    """A block_actions payload that is not one of our buttons or is missing a field."""


@dataclass(frozen=True, slots=True)
class Click:
    action: FeedbackAction
    playbook: str
    campaign_id: str
    user_id: str
    user_name: str


def parse_click(payload: object) -> Click:
    """Our button click from a `block_actions` payload, or `ClickError` saying what is wrong.

    >>> parse_click({"type": "block_actions", "user": {"id": "U1", "username": "ops"},
    ...   "actions": [{"action_id": "groundswell_ack", "value": "waste|waste-1"}]})
    Click(action='ack', playbook='waste', campaign_id='waste-1', user_id='U1', user_name='ops')
    """
    if not isinstance(payload, Mapping):
        raise ClickError(f"payload is a JSON {type(payload).__name__}, not an object")
    if payload.get("type") != "block_actions":
        raise ClickError(f"payload type {payload.get('type')!r} is not block_actions")
    actions = payload.get("actions") or []
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        raise ClickError("block_actions payload has no actions")
    action_id = str(actions[0].get("action_id", ""))
    if action_id not in ACTION_IDS:
        raise ClickError(f"action_id {action_id!r} is not one of ours: {', '.join(ACTION_IDS)}")
    playbook, sep, campaign_id = str(actions[0].get("value", "")).partition("|")
    if not sep or not playbook or not campaign_id:
        raise ClickError(f"button value {actions[0].get('value')!r} is not playbook|campaign")
    user = payload.get("user") or {}
    if not isinstance(user, Mapping):
        raise ClickError(f"payload user {user!r:.40} is not an object")
    return Click(
        ACTION_IDS[action_id],
        playbook,
        campaign_id,
        str(user.get("id", "")),
        str(user.get("username") or user.get("name") or ""),
    )


async def apply_click(
    click: Click,
    outbox: Outbox,
    slack: Mapping[str, SlackResponder],
    params: Mapping[str, RespondParams],
    *,
    now: float,
) -> int:
    """Record the click, snooze if asked, and redraw the campaign's messages.

    Returns how many messages were redrawn. Raises `ClickError` for an unknown playbook.
    """
    respond = params.get(click.playbook)
    if respond is None:
        raise ClickError(f"button names playbook {click.playbook!r}, which is not loaded")
    note = Feedback(click.action, click.user_id, click.user_name)
    outbox.add_feedback(click.playbook, click.campaign_id, note, now=now)
    if click.action == "snooze":
        who = click.user_name or click.user_id
        outbox.snooze(click.playbook, now + respond.snooze_hours * 3600.0, who, now=now)
    redrawn = 0
    for responder in {r.name: r for r in slack.values()}.values():
        redrawn += await responder.refresh(click.campaign_id)
    return redrawn
