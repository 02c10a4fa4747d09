"""Slack incoming webhooks: one message per alert to a URL, with no threads, edits or buttons.

For a channel that only has an incoming webhook (no bot token): the first alert of a campaign
is its top message, later ones its update lines, each posted as a new message.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from responders.base import Delivery, Job, http_failure
from responders.slack.blocks import top_message, update_message


class SlackWebhookResponder:
    """Slack incoming webhook: no threads, no edits, no buttons; each alert is one message."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *, name: str) -> None:
        self.client = AsyncWebhookClient(url, session=session)
        self.name = name

    async def deliver(self, job: Job) -> Delivery:
        if job.quiet:
            return Delivery(self.name, "suppressed", "cooldown")
        alert = job.alert
        message = top_message(alert) if alert.surge.kind == "new" else update_message(alert)
        blocks = [b for b in message.blocks if b["type"] != "actions"]  # nobody to click to
        try:
            response = await self.client.send(
                text=message.text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Delivery(self.name, "failed", f"cannot reach the Slack webhook: {exc!r}")
        if response.status_code < 300:
            return Delivery(self.name, "sent")
        return http_failure(self.name, response.status_code, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        """The watcher owns the session."""
