"""Slack's HTTP interactivity endpoint: button clicks on alert messages.

Every request must carry a valid `X-Slack-Signature` for its exact body, made with
`SLACK_SIGNING_SECRET`, and a `X-Slack-Request-Timestamp` within five minutes; anything else
gets 401 and changes nothing. Slack wants an answer within 3 seconds, so the redraw of the
message is bounded and a slow Slack only delays the edit, never the recorded feedback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import orjson
from aiohttp import web
from slack_sdk.signature import Clock, SignatureVerifier

from responders.slack.actions import ClickError, apply_click, parse_click
from watcher.service.delivery import DeliveryStack

log = logging.getLogger("groundswell")

PATH = "/slack/actions"
#: Slack gives up on an interaction after 3 s; leave room for the network.
ANSWER_WITHIN_S = 2.5


def actions_route(
    delivery: DeliveryStack,
    signing_secret: str,
    *,
    now: Callable[[], float] = time.time,
    clock: Clock | None = None,
) -> web.RouteDef:
    """The POST route to give the service's aiohttp app."""
    verifier = SignatureVerifier(signing_secret, clock or Clock())
    pending: set[asyncio.Task[int]] = set()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()  # the raw bytes: the signature covers them exactly
        if not verifier.is_valid_request(body, dict(request.headers)):
            log.warning("slack actions: rejected a request with a bad or stale signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            payload = orjson.loads(parse_qs(body.decode())["payload"][0])
            click = parse_click(payload)
        except (KeyError, IndexError, UnicodeDecodeError, orjson.JSONDecodeError) as exc:
            return web.json_response({"error": f"no payload form field: {exc!r}"}, status=400)
        except ClickError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        dispatcher = delivery.dispatcher
        task = asyncio.create_task(
            apply_click(click, delivery.outbox, delivery.slack, dispatcher.params, now=now())
        )
        pending.add(task)
        task.add_done_callback(pending.discard)
        try:
            await asyncio.wait_for(asyncio.shield(task), ANSWER_WITHIN_S)
        except TimeoutError:
            log.warning("slack actions: redraw still running after %.1fs", ANSWER_WITHIN_S)
        except ClickError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Exception:
            log.exception("slack actions: could not redraw %s", click.campaign_id)
        return web.Response(status=200)

    return web.post(PATH, handle)
