"""The Slack responder: one channel over the Web API, its failures as delivery results.

The watcher injects the `AsyncWebClient` (token, base URL, async retry handlers for 429s and
5xx inside one call). The conversation itself (top message, thread replies, edits, the
in-doubt check) is `responders.slack.threads`; this module serialises it per channel and
says which of Slack's errors retrying cannot fix.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from responders.base import Delivery, Job
from responders.delivery.outbox import Outbox
from responders.slack.threads import Conversations

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


def failure(name: str, exc: SlackApiError) -> Delivery:
    """A Web API error as a failed delivery: rate limits wait, permanent errors give up."""
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
        self.name = f"slack:{channel}"
        self.conversations = Conversations(
            client,
            channel,
            outbox,
            name=self.name,
            link_template=link_template,
            snooze_hours=snooze_hours,
        )
        # A click's redraw and an update's edit must not interleave, or the older state
        # could be written last.
        self._lock = asyncio.Lock()

    async def deliver(self, job: Job) -> Delivery:
        try:
            async with self._lock:
                return await self.conversations.deliver(job)
        except SlackApiError as exc:
            return failure(self.name, exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Delivery(self.name, "failed", f"cannot reach Slack: {exc!r}")

    async def refresh(self, campaign_id: str) -> bool:
        """Redraw the campaign's top message here (after a click); False if it has none."""
        async with self._lock:
            return await self.conversations.refresh(campaign_id)

    async def aclose(self) -> None:
        """Nothing to close: the watcher owns the client and its HTTP session."""
