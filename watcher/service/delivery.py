"""Compose delivery: read the environment, build clients and responders, open the outbox.

Only the watcher reads the environment. Slack settings:
`SLACK_BOT_TOKEN` (Web API), `SLACK_API_URL` (base URL; default Slack's), `SLACK_SIGNING_SECRET`
(button clicks over HTTP), `SLACK_APP_TOKEN` (button clicks over Socket Mode). A playbook's
`respond.slack.webhook_url_env` and `respond.webhook.secret_env` name further variables.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from responders.base import OutboxResponder, Plain
from responders.channels.console import ConsoleResponder
from responders.channels.ndjson import NdjsonResponder
from responders.channels.webhook import WebhookResponder
from responders.delivery.dispatch import Dispatcher, RetrySchedule
from responders.delivery.outbox import Outbox
from responders.slack.client import SlackResponder
from responders.slack.webhook import SlackWebhookResponder
from watcher.playbooks.model import Playbook

log = logging.getLogger("groundswell")

Sleep = Callable[[float], Awaitable[None]]
DEFAULT_SLACK_API = "https://slack.com/api/"
#: A 429 asking for longer than this is left to the outbox instead of waited out inline.
MAX_INLINE_WAIT_S = 30.0


class _ProportionalJitter(Jitter):
    """Up to +25 % of the delay (slack_sdk's default adds up to a whole second to every wait)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1.0 + 0.25 * random.random())  # noqa: S311 - jitter, not secrets


class SlackRetryHandler(AsyncRetryHandler):
    """Retry 429 (waiting `Retry-After`) and 5xx (with backoff) inside one API call.

    slack_sdk's own `AsyncRateLimitErrorRetryHandler` sleeps with `asyncio.sleep` directly;
    this one takes the sleep as a parameter so tests run at full speed.
    """

    def __init__(self, sleep: Sleep, *, max_retry_count: int = 3, first: float = 0.5) -> None:
        calculator = BackoffRetryIntervalCalculator(first, _ProportionalJitter())
        super().__init__(max_retry_count, calculator)
        self.sleep = sleep

    @staticmethod
    def _retry_after(response: HttpResponse) -> float | None:
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    return float(values[0])
                except ValueError:
                    return None
        return None

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None:
            return False
        if response.status_code == 429:
            return (self._retry_after(response) or 1.0) <= MAX_INLINE_WAIT_S
        return response.status_code >= 500

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        if response is not None and response.status_code == 429:
            duration = self._retry_after(response) or 1.0
        else:
            duration = self.interval_calculator.calculate_sleep_duration(state.current_attempt)
        await self.sleep(duration)
        state.increment_current_attempt()


@dataclass
class DeliveryConfig:
    """What delivery needs from the command line and the environment."""

    outbox: Path
    console: TextIO | None = None  # None: no console output
    slack_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API
    signing_secret: str = ""
    app_token: str = ""
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls, outbox: Path, console: TextIO | None, env: Mapping[str, str] | None = None
    ) -> DeliveryConfig:
        env = os.environ if env is None else env
        return cls(
            outbox=outbox,
            console=console,
            slack_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_api_url=env.get("SLACK_API_URL", "") or DEFAULT_SLACK_API,
            signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            app_token=env.get("SLACK_APP_TOKEN", ""),
            env=dict(env),
        )


@dataclass
class Delivery:
    """The built delivery stack; close it when done."""

    dispatcher: Dispatcher
    outbox: Outbox
    slack: dict[str, SlackResponder]
    session: aiohttp.ClientSession
    files: list[BinaryIO]

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
        await self.session.close()
        for handle in self.files:
            handle.close()
        self.outbox.close()


def build_delivery(
    playbooks: Sequence[Playbook],
    config: DeliveryConfig,
    *,
    sleep: Sleep = asyncio.sleep,
    now: Callable[[], float] = time.time,
    backoff: RetrySchedule | None = None,
    http_timeout: float = 10.0,
    retry_first: float = 0.5,
) -> Delivery:
    """Responders for every playbook's `respond.channels`, all behind one outbox.

    Call inside the running event loop (the HTTP session belongs to it).
    """
    outbox = Outbox(config.outbox)
    revived = outbox.revive()
    if revived:
        log.info("outbox %s: retrying %d alerts a previous run gave up on", config.outbox, revived)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=http_timeout))
    console = Plain(ConsoleResponder(config.console)) if config.console is not None else None
    slack: dict[str, SlackResponder] = {}
    files: list[BinaryIO] = []
    shared: dict[str, OutboxResponder] = {}
    routes: dict[str, list[OutboxResponder]] = {}
    client: AsyncWebClient | None = None
    if config.slack_token:
        client = AsyncWebClient(
            token=config.slack_token,
            base_url=config.slack_api_url,
            timeout=max(1, round(http_timeout)),  # the session timeout below rules
            session=session,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(
                    max_retry_count=2,
                    interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=0.0),
                ),
                SlackRetryHandler(sleep, first=retry_first),
            ],
        )
    no_token: list[str] = []
    for pb in playbooks:
        respond = pb.respond
        chosen: list[OutboxResponder] = []
        for channel in respond.selected():
            if channel == "console":
                if console is not None:
                    chosen.append(console)
            elif channel == "slack" and respond.slack is not None:
                hook_env = respond.slack.webhook_url_env
                if hook_env:
                    url = config.env.get(hook_env, "")
                    if not url:
                        log.warning("%s: Slack webhook skipped: $%s is not set", pb.name, hook_env)
                        continue
                    key = f"slack-webhook:{hook_env}"
                    if key not in shared:
                        shared[key] = SlackWebhookResponder(session, url, name=key)
                    chosen.append(shared[key])
                elif client is None:
                    no_token.append(pb.name)
                else:
                    ch = respond.slack.channel
                    if ch not in slack:
                        slack[ch] = SlackResponder(
                            client,
                            ch,
                            outbox,
                            link_template=respond.link_url,
                            snooze_hours=respond.snooze_hours,
                        )
                    chosen.append(slack[ch])
            elif channel == "webhook" and respond.webhook is not None:
                secret_env = respond.webhook.secret_env
                secret = config.env.get(secret_env, "") if secret_env else ""
                if secret_env and not secret:
                    log.warning("%s: webhook unsigned: $%s is not set", pb.name, secret_env)
                url = str(respond.webhook.url)
                key = f"webhook:{url}"
                if key not in shared:
                    shared[key] = WebhookResponder(session, url, secret=secret, now=now, name=key)
                chosen.append(shared[key])
            elif channel == "ndjson" and respond.ndjson is not None:
                key = f"ndjson:{respond.ndjson.path}"
                if key not in shared:
                    handle = Path(respond.ndjson.path).open("ab")  # noqa: SIM115 - closed in aclose
                    files.append(handle)
                    shared[key] = Plain(NdjsonResponder(handle, name=key))
                chosen.append(shared[key])
        routes[pb.name] = chosen
    if no_token:  # one line, not one per playbook: the demo runs without a token on purpose
        log.warning("Slack delivery off for %s: SLACK_BOT_TOKEN is not set", ", ".join(no_token))
    dispatcher = Dispatcher(
        outbox,
        routes,
        {pb.name: pb.respond for pb in playbooks},
        now=now,
        sleep=sleep,
        retry=backoff or RetrySchedule(first=max(retry_first, 0.001) * 2),
    )
    return Delivery(dispatcher, outbox, slack, session, files)
