"""Slack buttons over Socket Mode: no public URL, the app token opens a WebSocket to Slack.

Used by `run` when `SLACK_APP_TOKEN` (xapp-…, scope `connections:write`) is set. Each
interaction is acknowledged at once, then handled exactly like a click on the HTTP endpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from responders.slack.actions import ClickError, apply_click, parse_click
from watcher.errors import GroundswellError
from watcher.service.delivery import DeliveryStack

log = logging.getLogger("groundswell")


class SocketModeError(GroundswellError, RuntimeError):
    """Slack would not open a Socket Mode connection for this app token."""

    what = "Slack Socket Mode"


async def start_socket_mode(
    delivery: DeliveryStack,
    app_token: str,
    api_url: str,
    *,
    now: Callable[[], float] = time.time,
) -> SocketModeClient:
    """Connect and start handling button clicks; `await client.close()` to stop.

    Raises `SocketModeError` when Slack refuses the token, instead of retrying for ever as
    slack_sdk's `connect()` would, so a bad token cannot stop the service from starting.
    """
    web_client = AsyncWebClient(base_url=api_url)
    try:
        await web_client.apps_connections_open(app_token=app_token)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        raise SocketModeError(
            f"SLACK_APP_TOKEN: apps.connections.open failed ({exc}); use an app-level token "
            "(xapp-…) with the connections:write scope, or unset it to use the HTTP endpoint"
        ) from exc
    client = SocketModeClient(app_token=app_token, web_client=web_client)

    async def on_request(socket: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await socket.send_socket_mode_response(SocketModeResponse(request.envelope_id))
        if request.type != "interactive":
            return
        try:
            click = parse_click(request.payload)
            await apply_click(
                click, delivery.outbox, delivery.slack, delivery.dispatcher.params, now=now()
            )
        except ClickError as exc:
            log.warning("socket mode: ignored an interaction: %s", exc)

    client.socket_mode_request_listeners.append(on_request)
    await client.connect()  # type: ignore[no-untyped-call]  # slack_sdk leaves it untyped
    return client
