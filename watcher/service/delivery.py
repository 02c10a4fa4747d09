"""Compose delivery: build clients and responders from the settings, open the outbox.

The Slack settings come from the environment, read once in `watcher/settings.py`:
`SLACK_BOT_TOKEN` (Web API), `SLACK_API_URL` (base URL; default Slack's), `SLACK_SIGNING_SECRET`
(button clicks over HTTP), `SLACK_APP_TOKEN` (button clicks over Socket Mode). A playbook's
`respond.slack.webhook_url_env`, `respond.webhook.secret_env` and `respond.email.username_env`
and `password_env` name further variables.
`CHANNELS` maps each `respond.channels` name to the factory that builds its responder.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from responders.base import OutboxResponder, Plain
from responders.channels.console import ConsoleResponder
from responders.channels.ndjson import NdjsonResponder
from responders.channels.webhook import WebhookResponder
from responders.delivery.dispatch import Dispatcher, RetrySchedule
from responders.delivery.history import RETENTION_DAYS
from responders.delivery.outbox import Outbox
from responders.slack.client import SlackResponder
from responders.slack.retry import SlackRetryHandler, Sleep
from responders.slack.webhook import SlackWebhookResponder
from watcher.errors import GroundswellError
from watcher.playbooks.model import Playbook
from watcher.settings import DEFAULT_SLACK_API, Environment

log = logging.getLogger("groundswell")


class OutboxError(GroundswellError, RuntimeError):
    """The outbox cannot be opened and written at start (a full disk, a read-only place)."""

    what = "outbox"


def open_outbox(path: Path) -> Outbox:
    """The outbox at `path`, checked writable now: alerts must not be detected into a
    queue that cannot keep them."""
    try:
        return Outbox(path)
    except sqlite3.Error as exc:
        raise OutboxError(
            f"{path}: cannot open and write it ({exc}); free some space or give another --outbox"
        ) from None


@dataclass
class DeliveryConfig:
    """What delivery needs from the settings: the outbox, the console, Slack and variables."""

    outbox: Path
    console: TextIO | None = None  # None: no console output
    slack_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API
    signing_secret: str = ""
    app_token: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    history_days: float | None = RETENTION_DAYS  # None: keep the history for ever

    @classmethod
    def from_environment(
        cls,
        env: Environment,
        outbox: Path,
        console: TextIO | None,
        *,
        history_days: float | None = RETENTION_DAYS,
    ) -> DeliveryConfig:
        return cls(
            outbox=outbox,
            console=console,
            slack_token=env.slack_bot_token,
            slack_api_url=env.slack_api_url,
            signing_secret=env.slack_signing_secret,
            app_token=env.slack_app_token,
            env=env.variables,
            history_days=history_days,
        )


@dataclass
class DeliveryStack:
    """The built delivery stack (dispatcher, outbox, Slack responders); close it when done."""

    dispatcher: Dispatcher
    outbox: Outbox
    slack: dict[str, SlackResponder]
    session: aiohttp.ClientSession
    files: list[BinaryIO]
    parts: _Parts | None = None  # what `reroute` builds new responders from

    def reroute(self, playbooks: Sequence[Playbook]) -> None:
        """Route the alerts of `playbooks` (a hot reload's set) by their `respond` sections
        from now on: a new playbook, channel or webhook is delivered to without a restart,
        and the responders already built are reused."""
        if self.parts is None:
            raise RuntimeError("this stack was not built by build_delivery")
        self.parts.no_token.clear()
        routes = _routes(self.parts, playbooks)
        _warn_no_token(self.parts)
        self.dispatcher.reroute(routes, {pb.name: pb.respond for pb in playbooks})

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
        await self.session.close()
        for handle in self.files:
            handle.close()
        self.outbox.close()


@dataclass
class _Parts:
    """What the channel factories share while one stack is built: one responder per target."""

    config: DeliveryConfig
    outbox: Outbox
    session: aiohttp.ClientSession
    client: AsyncWebClient | None
    console: OutboxResponder | None
    now: Callable[[], float]
    slack: dict[str, SlackResponder] = field(default_factory=dict)
    shared: dict[str, OutboxResponder] = field(default_factory=dict)
    files: list[BinaryIO] = field(default_factory=list)
    no_token: list[str] = field(default_factory=list)  # playbooks Slack skipped: no token


def _console(parts: _Parts, pb: Playbook) -> OutboxResponder | None:
    return parts.console


def _slack(parts: _Parts, pb: Playbook) -> OutboxResponder | None:
    respond = pb.respond
    if respond.slack is None:
        return None
    hook_env = respond.slack.webhook_url_env
    if hook_env:
        url = parts.config.env.get(hook_env, "")
        if not url:
            log.warning("%s: Slack webhook skipped: $%s is not set", pb.name, hook_env)
            return None
        key = f"slack-webhook:{hook_env}"
        if key not in parts.shared:
            parts.shared[key] = SlackWebhookResponder(parts.session, url, name=key)
        return parts.shared[key]
    if parts.client is None:
        parts.no_token.append(pb.name)
        return None
    channel = respond.slack.channel
    if channel not in parts.slack:
        parts.slack[channel] = SlackResponder(
            parts.client,
            channel,
            parts.outbox,
            link_template=respond.link_url,
            snooze_hours=respond.snooze_hours,
        )
    return parts.slack[channel]


def _webhook(parts: _Parts, pb: Playbook) -> OutboxResponder | None:
    webhook = pb.respond.webhook
    if webhook is None:
        return None
    secret_env = webhook.secret_env
    secret = parts.config.env.get(secret_env, "") if secret_env else ""
    if secret_env and not secret:
        log.warning("%s: webhook unsigned: $%s is not set", pb.name, secret_env)
    url = str(webhook.url)
    key = f"webhook:{url}"
    if key not in parts.shared:
        parts.shared[key] = WebhookResponder(
            parts.session, url, secret=secret, now=parts.now, name=key
        )
    return parts.shared[key]


def _ndjson(parts: _Parts, pb: Playbook) -> OutboxResponder | None:
    if pb.respond.ndjson is None:
        return None
    key = f"ndjson:{pb.respond.ndjson.path}"
    if key not in parts.shared:
        handle = Path(pb.respond.ndjson.path).open("ab")  # noqa: SIM115 - closed in aclose
        parts.files.append(handle)
        parts.shared[key] = Plain(NdjsonResponder(handle, name=key))
    return parts.shared[key]


def _email(parts: _Parts, pb: Playbook) -> OutboxResponder | None:
    email = pb.respond.email
    if email is None:
        return None
    from responders.channels.mail import EmailResponder  # aiosmtplib only when emailing

    env = parts.config.env
    for variable in (email.username_env, email.password_env):
        if variable and not env.get(variable):
            log.warning("%s: email without login: $%s is not set", pb.name, variable)
    key = f"email:{email.sender}>{','.join(email.to)}@{email.host}:{email.smtp_port()}"
    if key not in parts.shared:
        parts.shared[key] = EmailResponder(
            email,
            username=env.get(email.username_env or "", ""),
            password=env.get(email.password_env or "", ""),
            now=parts.now,
            name=key,
        )
    return parts.shared[key]


#: The responder factory for each `respond.channels` name; None: skip this playbook's channel.
CHANNELS: dict[str, Callable[[_Parts, Playbook], OutboxResponder | None]] = {
    "console": _console,
    "slack": _slack,
    "webhook": _webhook,
    "ndjson": _ndjson,
    "email": _email,
}


def _slack_client(
    config: DeliveryConfig,
    session: aiohttp.ClientSession,
    sleep: Sleep,
    http_timeout: float,
    retry_first: float,
) -> AsyncWebClient | None:
    if not config.slack_token:
        return None
    return AsyncWebClient(
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


def build_delivery(
    playbooks: Sequence[Playbook],
    config: DeliveryConfig,
    *,
    sleep: Sleep = asyncio.sleep,
    now: Callable[[], float] = time.time,
    backoff: RetrySchedule | None = None,
    http_timeout: float = 10.0,
    retry_first: float = 0.5,
) -> DeliveryStack:
    """Responders for every playbook's `respond.channels`, all behind one outbox.

    Call inside the running event loop (the HTTP session belongs to it).
    """
    outbox = open_outbox(config.outbox)
    revived = outbox.revive()
    if revived:
        log.info("outbox %s: retrying %d alerts a previous run gave up on", config.outbox, revived)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=http_timeout))
    parts = _Parts(
        config,
        outbox,
        session,
        client=_slack_client(config, session, sleep, http_timeout, retry_first),
        console=Plain(ConsoleResponder(config.console)) if config.console is not None else None,
        now=now,
    )
    routes = _routes(parts, playbooks)
    _warn_no_token(parts)
    dispatcher = Dispatcher(
        outbox,
        routes,
        {pb.name: pb.respond for pb in playbooks},
        now=now,
        sleep=sleep,
        retry=backoff or RetrySchedule(first=max(retry_first, 0.001) * 2),
        retention_s=None if config.history_days is None else config.history_days * 86400.0,
    )
    dispatcher.prune_history(now())
    return DeliveryStack(dispatcher, outbox, parts.slack, session, parts.files, parts)


def _routes(parts: _Parts, playbooks: Sequence[Playbook]) -> dict[str, list[OutboxResponder]]:
    """Each playbook's responders, one per `respond.channels` entry that can be built."""
    routes: dict[str, list[OutboxResponder]] = {}
    for pb in playbooks:
        chosen = (CHANNELS[channel](parts, pb) for channel in pb.respond.selected())
        routes[pb.name] = [responder for responder in chosen if responder is not None]
    return routes


def _warn_no_token(parts: _Parts) -> None:
    if parts.no_token:  # one line, not one per playbook: the demo runs without a token on purpose
        log.warning(
            "Slack delivery off for %s: SLACK_BOT_TOKEN is not set", ", ".join(parts.no_token)
        )
