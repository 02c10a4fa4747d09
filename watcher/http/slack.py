"""Slack's HTTP interactivity endpoint: button clicks on alert messages.

Every request must carry a valid `X-Slack-Signature` for its exact body, made with
`SLACK_SIGNING_SECRET`, and a `X-Slack-Request-Timestamp` within five minutes; anything else
gets 401 and changes nothing. A signed request is applied once: its signature is remembered
for those five minutes (`SeenSignatures`), and the same request again gets 409. Input that is
not what Slack sends (a body that is not UTF-8, a payload that is not a click) gets 400; each
refusal is one log line. Slack wants an answer within 3 seconds, so the redraw of the message
is bounded and a slow Slack only delays the edit, never the recorded feedback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
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
#: How long a signed request stays valid (slack_sdk's `SignatureVerifier`), so how long its
#: signature must be remembered to refuse it a second time.
WINDOW_S = 5 * 60
#: Signatures remembered at most: only requests Slack signed are remembered, so this bounds
#: memory far above any team's clicks in five minutes; past it, the oldest are forgotten.
MAX_SEEN = 10_000


class SeenSignatures:
    """The signatures of the requests applied in the last `WINDOW_S` seconds, bounded."""

    def __init__(self, limit: int = MAX_SEEN) -> None:
        self.limit = limit
        self._seen: OrderedDict[str, int] = OrderedDict()  # signature → request timestamp

    def first(self, signature: str, timestamp: int, now: float) -> bool:
        """Remember `signature`; False when it was seen inside the window (a replay)."""
        while self._seen:  # forget what the verifier would refuse as stale anyway
            oldest, at = next(iter(self._seen.items()))
            if at >= now - WINDOW_S and len(self._seen) < self.limit:
                break
            del self._seen[oldest]
        if signature in self._seen:
            return False
        self._seen[signature] = timestamp
        return True


def _unverifiable(headers: Mapping[str, str], body: bytes) -> str:
    """Why a request cannot even be checked (slack_sdk would raise on it), or ''."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")  # none: the verifier says 401
    if timestamp and not (timestamp.isascii() and timestamp.isdigit()):
        return f"timestamp {timestamp[:40]!r} is not a number"
    if not headers.get("X-Slack-Signature", "").isascii():
        return "signature is not ASCII"
    try:
        body.decode()
    except UnicodeDecodeError:
        return "body is not UTF-8"
    return ""


def actions_route(
    delivery: DeliveryStack,
    signing_secret: str,
    *,
    now: Callable[[], float] = time.time,
    clock: Clock | None = None,
) -> web.RouteDef:
    """The POST route to give the service's aiohttp app."""
    verifier = SignatureVerifier(signing_secret, clock or Clock())
    seen = SeenSignatures()
    pending: set[asyncio.Task[int]] = set()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()  # the raw bytes: the signature covers them exactly
        unverifiable = _unverifiable(request.headers, body)
        if unverifiable:
            log.warning("slack actions: rejected a request: %s", unverifiable)
            return web.json_response({"error": unverifiable}, status=400)
        if not verifier.is_valid_request(body, dict(request.headers)):
            log.warning("slack actions: rejected a request with a bad or stale signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        signature = request.headers["X-Slack-Signature"]
        timestamp = int(request.headers["X-Slack-Request-Timestamp"])
        if not seen.first(signature, timestamp, verifier.clock.now()):
            log.warning("slack actions: refused a replayed request (already applied)")
            return web.json_response({"error": "request already applied"}, status=409)
        try:
            payload = orjson.loads(parse_qs(body.decode())["payload"][0])
            click = parse_click(payload)
        except (KeyError, IndexError, orjson.JSONDecodeError) as exc:
            log.warning("slack actions: no payload form field: %r", exc)
            return web.json_response({"error": f"no payload form field: {exc!r}"}, status=400)
        except ClickError as exc:
            log.warning("slack actions: %s", exc)
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
            log.warning("slack actions: %s", exc)
            return web.json_response({"error": str(exc)}, status=400)
        except Exception:
            log.exception("slack actions: could not redraw %s", click.campaign_id)
        return web.Response(status=200)

    return web.post(PATH, handle)
