"""Slack over the Web API: one conversation per campaign, kept current.

The first alert of a campaign is a top-level message; later lifecycle changes are replies in
its thread, and the top message is edited (`chat.update`) to show the current state and who
acted on it. The watcher injects the `AsyncWebClient` (token, base URL, retry handlers).

Every post carries Slack message metadata with its outbox key. When an earlier attempt may
have reached Slack (the process died or the request timed out before the answer), the
responder looks for that key in the channel or thread before posting again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from responders.alert import Alert
from responders.base import Delivery, Job
from responders.delivery.outbox import Outbox, Thread
from responders.slack.blocks import Message, top_message, update_message

METADATA_TYPE = "groundswell_alert"
#: Errors that retrying cannot fix; the outbox gives up on them at once.
PERMANENT = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
    }
)
#: Messages scanned when checking whether an in-doubt post got through.
LOOKBACK = 100


def _failure(name: str, exc: SlackApiError) -> Delivery:
    status = exc.response.status_code
    error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
    if status == 429:
        retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
        return Delivery(name, "failed", "rate limited (429)", retry_after=retry_after)
    reason = f"HTTP {status}: {error or 'no error code'}"
    return Delivery(name, "failed", reason, permanent=error in PERMANENT)


class SlackResponder:
    """Posts to one channel through the Web API; threads and edits per campaign."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        outbox: Outbox,
        *,
        link_template: str = "",
        snooze_hours: float = 6.0,
    ) -> None:
        self.client = client
        self.snooze_hours = snooze_hours
        self.channel = channel
        self.outbox = outbox
        self.link_template = link_template
        self.name = f"slack:{channel}"
        # A click's redraw and an update's edit must not interleave, or the older state
        # could be written last.
        self._lock = asyncio.Lock()

    async def deliver(self, job: Job) -> Delivery:
        try:
            async with self._lock:
                return await self._deliver(job)
        except SlackApiError as exc:
            return _failure(self.name, exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Delivery(self.name, "failed", f"cannot reach Slack: {exc!r}")

    async def _deliver(self, job: Job) -> Delivery:
        alert = job.alert
        thread = self.outbox.thread(self.name, alert.surge.campaign_id)
        if thread is None:
            return await self._open(job)
        if not job.quiet:
            reply = update_message(alert)
            if job.attempt == 1 or not await self._find(job.key, thread.channel_id, thread.ts):
                await self._post(job.key, reply, channel=thread.channel_id, thread_ts=thread.ts)
        await self.redraw(alert, thread)
        return Delivery(self.name, "sent", "quiet: top message edited" if job.quiet else "")

    async def _open(self, job: Job) -> Delivery:
        """The campaign's first message here (also for an update whose start we never sent)."""
        message = self._top(job.alert)
        if job.attempt > 1:
            channel_id = await self._channel_id()
            found = await self._find(job.key, channel_id, None) if channel_id else None
            if channel_id and found is not None:
                self.outbox.save_thread(self.name, job.alert, channel_id, found)
                return Delivery(self.name, "sent", "found the earlier attempt")
        response = await self._post(job.key, message, channel=self.channel)
        self.outbox.save_thread(self.name, job.alert, str(response["channel"]), str(response["ts"]))
        return Delivery(self.name, "sent")

    def _top(self, alert: Alert) -> Message:
        return top_message(
            alert,
            self.outbox.feedback(alert.surge.campaign_id),
            link_template=self.link_template,
            snooze_hours=self.snooze_hours,
        )

    async def refresh(self, campaign_id: str) -> bool:
        """Redraw the campaign's top message here (after a click); False if it has none."""
        async with self._lock:
            thread = self.outbox.thread(self.name, campaign_id)
            if thread is None:
                return False
            await self.redraw(thread.alert, thread)
            return True

    async def redraw(self, alert: Alert, thread: Thread) -> None:
        """Edit the top message to `alert`'s state with the feedback recorded so far."""
        message = self._top(alert)
        await self.client.chat_update(
            channel=thread.channel_id, ts=thread.ts, text=message.text, blocks=list(message.blocks)
        )
        self.outbox.save_thread(self.name, alert, thread.channel_id, thread.ts)

    async def _post(
        self, key: str, message: Message, *, channel: str, thread_ts: str | None = None
    ) -> Any:
        return await self.client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=list(message.blocks),
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
        )

    async def _channel_id(self) -> str | None:
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

    async def _find(self, key: str, channel_id: str, thread_ts: str | None) -> str | None:
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

    async def aclose(self) -> None:
        """Nothing to close: the watcher owns the client and its HTTP session."""
