"""The generic webhook: each alert as a signed JSON POST (Slack's incoming webhooks are
`responders.slack.webhook`).

The webhook POSTs the alerts NDJSON object. With a secret, the receiver can check
`X-Groundswell-Signature: v1=<hex>`, the HMAC-SHA256 of `v1:<timestamp>:<body>` (the same
shape as Slack's own request signing), and reject old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import aiohttp
import orjson

from responders.base import Delivery, Job, http_failure

SIGNATURE_HEADER = "X-Groundswell-Signature"
TIMESTAMP_HEADER = "X-Groundswell-Timestamp"
KEY_HEADER = "X-Groundswell-Delivery"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`.

    >>> sign("s3cret", "1700000000", b'{"a":1}')[:19]
    'v1=5758379e1e2bd8ca'
    """
    base = b"v1:" + timestamp.encode() + b":" + body
    return "v1=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class WebhookResponder:
    """POSTs each alert as JSON; the `X-Groundswell-Delivery` key lets receivers drop repeats."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        secret: str = "",
        now: Callable[[], float],
        name: str = "webhook",
    ) -> None:
        self.session = session
        self.url = url
        self.secret = secret
        self.now = now
        self.name = name

    async def deliver(self, job: Job) -> Delivery:
        body = orjson.dumps(job.alert.to_json())
        headers = {"Content-Type": "application/json", KEY_HEADER: job.key}
        if self.secret:
            timestamp = str(int(self.now()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        try:
            async with self.session.post(self.url, data=body, headers=headers) as response:
                if response.status < 300:
                    return Delivery(self.name, "sent")
                return http_failure(self.name, response.status, response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Delivery(self.name, "failed", f"cannot reach {self.url}: {exc!r}")

    async def aclose(self) -> None:
        """The watcher owns the session."""
