"""One conversation per campaign in a Slack channel, over the Web API.

The first alert of a campaign is a top-level message; later lifecycle changes are replies in
its thread, and the top message is edited (`chat.update`) to show the current state and who
acted on it. Where each campaign's thread lives is kept in the outbox's SQLite file.

Every post carries Slack message metadata with its outbox key. When an earlier attempt may
have reached Slack (the process died or the request timed out before the answer), the
conversation looks for that key in the channel or thread before posting again.

Slack's errors are raised (`SlackApiError`, aiohttp's); `responders.slack.client` turns them
into delivery results.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from responders.alert import Alert
from responders.base import Delivery, Job
from responders.delivery.outbox import Outbox, Thread
from responders.slack.blocks import Message, top_message, update_message

METADATA_TYPE = "groundswell_alert"
#: Messages scanned when checking whether an in-doubt post got through.
LOOKBACK = 100


class Conversations:
    """The campaigns' threads in one channel: open, reply, redraw, and find in-doubt posts."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        outbox: Outbox,
        *,
        name: str,
        link_template: str = "",
        snooze_hours: float = 6.0,
    ) -> None:
        self.client = client
        self.channel = channel
        self.outbox = outbox
        self.name = name  # the responder's name: the outbox keeps threads under it
        self.link_template = link_template
        self.snooze_hours = snooze_hours

    async def deliver(self, job: Job) -> Delivery:
        """Open the campaign's thread, or reply in it (unless quiet) and redraw its top."""
        alert = job.alert
        thread = self.outbox.thread(self.name, alert.surge.campaign_id)
        if thread is None:
            return await self.open(job)
        if not job.quiet:
            reply = update_message(alert)
            if job.attempt == 1 or not await self.find(job.key, thread.channel_id, thread.ts):
                await self.post(job.key, reply, channel=thread.channel_id, thread_ts=thread.ts)
        await self.redraw(alert, thread)
        return Delivery(self.name, "sent", "quiet: top message edited" if job.quiet else "")

    async def open(self, job: Job) -> Delivery:
        """The campaign's first message here (also for an update whose start we never sent)."""
        message = self.top(job.alert)
        if job.attempt > 1:
            channel_id = await self.channel_id()
            found = await self.find(job.key, channel_id, None) if channel_id else None
            if channel_id and found is not None:
                self.outbox.save_thread(self.name, job.alert, channel_id, found)
                return Delivery(self.name, "sent", "found the earlier attempt")
        response = await self.post(job.key, message, channel=self.channel)
        self.outbox.save_thread(self.name, job.alert, str(response["channel"]), str(response["ts"]))
        return Delivery(self.name, "sent")

    def top(self, alert: Alert) -> Message:
        """The top message for `alert`, with the feedback recorded for its campaign."""
        return top_message(
            alert,
            self.outbox.feedback(alert.surge.campaign_id),
            link_template=self.link_template,
            snooze_hours=self.snooze_hours,
        )

    async def refresh(self, campaign_id: str) -> bool:
        """Redraw the campaign's top message here (after a click); False if it has none."""
        thread = self.outbox.thread(self.name, campaign_id)
        if thread is None:
            return False
        await self.redraw(thread.alert, thread)
        return True

    async def redraw(self, alert: Alert, thread: Thread) -> None:
        """Edit the top message to `alert`'s state with the feedback recorded so far."""
        message = self.top(alert)
        await self.client.chat_update(
            channel=thread.channel_id, ts=thread.ts, text=message.text, blocks=list(message.blocks)
        )
        self.outbox.save_thread(self.name, alert, thread.channel_id, thread.ts)

    async def post(
        self, key: str, message: Message, *, channel: str, thread_ts: str | None = None
    ) -> Any:
        """chat.postMessage, marked with the outbox key in its metadata."""
        return await self.client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=list(message.blocks),
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
        )

    async def channel_id(self) -> str | None:
        """The channel's id: as configured, learned from an earlier answer, or looked up by
        name (conversations.list; needs the channels:read scope). None if not found."""
        if not self.channel.startswith("#") and self.channel[:1] in {"C", "G"}:
            return self.channel
        known = self.outbox.channel_id(self.name)
        if known:
            return known
        name = self.channel.lstrip("#")
        cursor = ""
        try:
            for _ in range(20):  # pages of 200: 4,000 channels is plenty for one workspace
                response = await self.client.conversations_list(
                    types="public_channel,private_channel", limit=200, cursor=cursor or None
                )
                channels: list[dict[str, Any]] = response.get("channels", []) or []
                for channel in channels:
                    if channel.get("name") == name:
                        return str(channel["id"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor", "")
                if not cursor:
                    return None
        except SlackApiError:
            return None
        return None

    async def find(self, key: str, channel_id: str, thread_ts: str | None) -> str | None:
        """The ts of a message already carrying `key`, if Slack has one; None if not or if the
        check itself fails (then posting again is the at-least-once choice)."""
        try:
            if thread_ts is None:
                response = await self.client.conversations_history(
                    channel=channel_id, limit=LOOKBACK, include_all_metadata=True
                )
            else:
                response = await self.client.conversations_replies(
                    channel=channel_id, ts=thread_ts, limit=LOOKBACK, include_all_metadata=True
                )
        except SlackApiError:
            return None
        messages: list[dict[str, Any]] = response.get("messages", []) or []
        for message in messages:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_TYPE and (
                (meta.get("event_payload") or {}).get("key") == key
            ):
                return str(message["ts"])
        return None
