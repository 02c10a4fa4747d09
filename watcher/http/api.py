"""`/api/v1`: the alert history, acknowledgements and silences of the running service.

JSON in and out. Every route but the OpenAPI document (`/api/v1/openapi.json`) needs
`Authorization: Bearer <token>`, the token from `$GROUNDSWELL_API_TOKEN`, compared in constant
time as `/ingest` does; without it the answer is 401 and nothing is read or changed. A bad
value is 400, an unknown id 404, each with `{"error": "…"}`. The work is done by
`responders.delivery.records.Records` over the service's outbox file, the same code the CLI
runs on a file, so both give the same JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError

from responders.delivery.records import (
    FeedbackRequest,
    RecordError,
    Records,
    SilenceRequest,
    explain,
)
from watcher.http.openapi import PREFIX, document, known_states
from watcher.sources.ingest import bearer_matches

log = logging.getLogger("groundswell")

#: The largest request body the API reads (a silence is a few hundred bytes).
MAX_BODY = 64 * 1024
#: A campaign's feedback changed: redraw its messages (e.g. Slack's top message).
Redraw = Callable[[str], Awaitable[None]]


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def _error(message: str, status: int) -> web.Response:
    return _json({"error": message}, status)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


async def _read(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RecordError(f"body larger than {MAX_BODY} bytes")
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise RecordError(f"body larger than {MAX_BODY} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"body is not JSON: {exc}") from None


def _only(request: web.Request, *names: str) -> None:
    """Refuse query parameters the route does not take: a typo (`?stat=over`) silently
    ignored would answer a question nobody asked."""
    unknown = sorted(set(request.query) - set(names))
    if unknown:
        takes = ", ".join(names) or "none"
        raise RecordError(f"unknown query parameter {unknown[0][:40]!r} (this route takes {takes})")


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "false").lower()
    if value not in {"true", "false"}:
        raise RecordError(f"{name}={value!r} is not true or false")
    return value == "true"


def _limit(request: web.Request) -> int:
    value = request.query.get("limit", "100")
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1000:
        raise RecordError(f"limit={value[:20]!r} is not a whole number from 1 to 1000")
    return int(value)


def api_routes(records: Records, token: str, *, redraw: Redraw | None = None) -> list[web.RouteDef]:
    """The `/api/v1` routes over `records`, behind the bearer `token` (not empty)."""
    if not token:
        raise ValueError("the API needs a token")
    expected = f"Bearer {token}".encode()

    def guarded(handle: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if not bearer_matches(request.headers.get("Authorization", ""), expected):
                log.warning("api: refused a request without the right bearer token")
                return _json(
                    {"error": "missing or wrong bearer token"},
                    401,
                    {"WWW-Authenticate": 'Bearer realm="groundswell-api"'},
                )
            try:
                return await handle(request)
            except RecordError as exc:
                return _error(str(exc), exc.status)
            except ValidationError as exc:
                return _error(explain(exc), 400)

        return checked

    async def openapi(_: web.Request) -> web.Response:
        return _json(document())

    async def list_alerts(request: web.Request) -> web.Response:
        _only(request, "playbook", "since", "state", "limit")
        found = records.alerts(
            since=request.query.get("since"),
            playbook=request.query.get("playbook"),
            states=known_states(request.query.getall("state", [])),
            limit=_limit(request),
        )
        return _json(found)

    async def show_alert(request: web.Request) -> web.Response:
        _only(request)
        return _json(records.alert(request.match_info["campaign_id"]))

    async def feedback(request: web.Request) -> web.Response:
        _only(request)
        said = FeedbackRequest.model_validate(await _read(request))
        campaign_id = request.match_info["campaign_id"]
        told = records.feedback(campaign_id, said)
        log.info("api: %s %s by %s", said.action, campaign_id, said.by)
        if redraw is not None:
            await redraw(campaign_id)
        return _json(told)

    async def list_silences(request: web.Request) -> web.Response:
        _only(request, "expired")
        return _json(records.silences(expired=_flag(request, "expired")))

    async def add_silence(request: web.Request) -> web.Response:
        _only(request)
        made = records.add_silence(SilenceRequest.model_validate(await _read(request)))
        log.info("api: silence %s of %s by %s", made["id"], made["playbook"], made["created_by"])
        return _json(made, 201)

    async def show_silence(request: web.Request) -> web.Response:
        _only(request)
        return _json(records.silence(request.match_info["silence_id"]))

    async def expire_silence(request: web.Request) -> web.Response:
        _only(request)
        gone = records.expire(request.match_info["silence_id"])
        log.info("api: silence %s expired", gone["id"])
        return _json(gone)

    return [
        web.get(f"{PREFIX}/openapi.json", openapi),
        web.get(f"{PREFIX}/alerts", guarded(list_alerts)),
        web.get(f"{PREFIX}/alerts/{{campaign_id}}", guarded(show_alert)),
        web.post(f"{PREFIX}/alerts/{{campaign_id}}/feedback", guarded(feedback)),
        web.get(f"{PREFIX}/silences", guarded(list_silences)),
        web.post(f"{PREFIX}/silences", guarded(add_silence)),
        web.get(f"{PREFIX}/silences/{{silence_id}}", guarded(show_silence)),
        web.delete(f"{PREFIX}/silences/{{silence_id}}", guarded(expire_silence)),
    ]
