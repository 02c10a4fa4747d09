"""`/api/v1` over a real outbox file: the token, every route, and the CLI's `--url`."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from responders.delivery.outbox import Outbox
from responders.delivery.records import Records
from tests.responders.conftest import Clock, alert
from tests.responders.test_dispatch import Scripted, dispatcher
from watcher.cli import main
from watcher.http.api import api_routes

TOKEN = "s3cret-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def recorded_outbox(path: Path, clock: Clock) -> Outbox:
    """An outbox in which campaign waste-1 fired and was updated."""
    outbox = Outbox(path)
    d = dispatcher(outbox, clock, Scripted(), cooldown_minutes=0)
    await d.send(alert())
    await d.send(alert("update", "escalating", 5))
    return outbox


def app_for(records: Records, redrawn: list[str] | None = None) -> web.Application:
    async def redraw(campaign_id: str) -> None:
        if redrawn is not None:
            redrawn.append(campaign_id)

    app = web.Application()
    app.router.add_routes(api_routes(records, TOKEN, redraw=redraw))
    return app


@pytest.fixture
async def served(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[str, list[str]]]:
    outbox = await recorded_outbox(tmp_path / "outbox.sqlite3", clock)
    redrawn: list[str] = []
    records = Records(outbox, now=clock.now, playbooks=lambda: {"waste"})
    server = TestServer(app_for(records, redrawn), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/api/v1")), redrawn
    finally:
        await server.close()
        outbox.close()


async def call(
    method: str, url: str, *, headers: dict[str, str] | None = None, body: object = None
) -> tuple[int, Any]:
    data = None if body is None else orjson.dumps(body)
    async with (
        ClientSession() as session,
        session.request(method, url, headers=AUTH if headers is None else headers, data=data) as r,
    ):
        return r.status, orjson.loads(await r.read())


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
async def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
    served: tuple[str, list[str]], headers: dict[str, str]
) -> None:
    base, _ = served
    for method, path, body in (
        ("GET", "/alerts", None),
        ("GET", "/alerts/waste-1", None),
        ("POST", "/alerts/waste-1/feedback", {"action": "ack", "by": "x"}),
        ("GET", "/silences", None),
        (
            "POST",
            "/silences",
            {"playbook": "waste", "duration": "1h", "reason": "r", "created_by": "x"},
        ),
        ("DELETE", "/silences/abc", None),
    ):
        status, answer = await call(method, base + path, headers=headers, body=body)
        assert (status, answer) == (401, {"error": "missing or wrong bearer token"})
    status, silences = await call("GET", base + "/silences?expired=true")
    assert (status, silences) == (200, [])
    status, [campaign] = await call("GET", base + "/alerts")
    assert campaign["acknowledged_by"] == []


async def test_silences_are_added_listed_and_expired(served: tuple[str, list[str]]) -> None:
    base, _ = served
    request = {"playbook": "waste", "term": "gag order", "duration": "6h", "reason": "launch",
               "created_by": "rosa"}  # fmt: skip
    status, made = await call("POST", base + "/silences", body=request)
    assert status == 201
    assert isinstance(made, dict)
    assert (made["playbook"], made["term"], made["state"], made["created_by"]) == (
        "waste", "gag order", "active", "rosa",
    )  # fmt: skip
    assert await call("GET", base + "/silences") == (200, [made])
    assert await call("GET", f"{base}/silences/{made['id']}") == (200, made)
    status, gone = await call("DELETE", f"{base}/silences/{made['id']}")
    assert status == 200
    assert isinstance(gone, dict)
    assert gone["state"] == "expired"
    assert await call("GET", base + "/silences") == (200, [])
    assert await call("GET", base + "/silences?expired=true") == (200, [gone])


async def test_alerts_are_listed_shown_and_acknowledged(served: tuple[str, list[str]]) -> None:
    base, redrawn = served
    status, listed = await call("GET", base + "/alerts?playbook=waste&state=escalating&since=1h")
    assert status == 200
    assert [c["campaign_id"] for c in listed] == ["waste-1"]
    assert await call("GET", base + "/alerts?state=over") == (200, [])
    status, told = await call("POST", base + "/alerts/waste-1/feedback",
                              body={"action": "ack", "by": "rosa"})  # fmt: skip
    assert status == 200
    assert isinstance(told, dict)
    assert told["acknowledged_by"] == ["rosa"]
    assert [e["what"] for e in told["history"]][-1] == "ack"
    assert told["brief"].startswith("▲ NEW CAMPAIGN: waste")
    assert redrawn == ["waste-1"]  # the Slack messages show who acknowledged


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("GET", "/alerts/nosuch", None, 404, "no campaign 'nosuch' in the history"),
        ("DELETE", "/silences/nosuch", None, 404, "no silence 'nosuch'"),
        ("GET", "/alerts?limit=0", None, 400, "limit='0' is not a whole number from 1 to 1000"),
        ("GET", "/alerts?since=soon", None, 400, "duration 'soon' is not a number and a unit"),
        ("GET", "/silences?expired=maybe", None, 400, "expired='maybe' is not true or false"),
        ("POST", "/silences", b"{", 400, "body is not JSON"),
        ("POST", "/silences", {"playbook": "waste", "reason": "r", "created_by": "x"}, 400,
         "give exactly one of duration and ends_at"),
        ("POST", "/silences", {"playbook": "sewage", "duration": "1h", "reason": "r",
                               "created_by": "x"}, 400, "no playbook 'sewage' is loaded"),
        ("POST", "/alerts/waste-1/feedback", {"action": "snooze", "by": "x"}, 400, "action:"),
        ("POST", "/alerts/nosuch/feedback", {"action": "ack", "by": "x"}, 404, "no campaign"),
    ],
)  # fmt: skip
async def test_bad_requests_say_what_is_wrong(
    served: tuple[str, list[str]],
    method: str,
    path: str,
    body: object,
    status: int,
    error: str,
) -> None:
    base, _ = served
    async with (
        ClientSession() as session,
        session.request(
            method, base + path, headers=AUTH,
            data=body if isinstance(body, bytes) or body is None else orjson.dumps(body),
        ) as r,
    ):  # fmt: skip
        answer = orjson.loads(await r.read())
    assert r.status == status
    assert error in answer["error"]


@pytest.fixture
def threaded(tmp_path: Path) -> Iterator[str]:
    """The API served from its own thread and event loop, for clients that block (the CLI)."""
    with serve_in_thread(tmp_path) as url:
        yield url


@contextlib.contextmanager
def serve_in_thread(tmp_path: Path) -> Iterator[str]:
    """The API over a recorded outbox in `tmp_path`, served from a thread; yields its URL."""
    clock = Clock()
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    url: list[str] = []

    async def serve() -> None:
        outbox = await recorded_outbox(tmp_path / "outbox.sqlite3", clock)
        records = Records(outbox, now=clock.now, playbooks=lambda: {"waste"})
        server = TestServer(app_for(records), host="127.0.0.1")
        await server.start_server()
        stop.append(asyncio.Event())
        url.append(str(server.make_url("")))
        ready.set()
        await stop[0].wait()
        await server.close()
        outbox.close()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield url[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
        loop.close()


def test_the_cli_talks_to_a_running_service_with_url(
    threaded: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GROUNDSWELL_API_TOKEN", TOKEN)
    at = ("--url", threaded)
    argv = ["silence", "add", "--playbook", "waste", "--for", "2h", "--reason", "launch"]
    assert main([*argv, "--by", "rosa", *at]) == 0
    silence_id = capsys.readouterr().out.strip()
    assert main(["silence", "list", *at]) == 0
    assert silence_id in capsys.readouterr().out
    assert main(["alerts", "ack", "waste-1", "--by", "rosa", *at]) == 0
    assert capsys.readouterr().out == "waste-1: acknowledged by rosa\n"
    assert main(["alerts", "list", "--json", "--state", "escalating", *at]) == 0
    [campaign] = orjson.loads(capsys.readouterr().out)
    assert campaign["acknowledged_by"] == ["rosa"]
    assert main(["alerts", "show", "waste-1", *at]) == 0
    assert "acknowledged by: rosa" in capsys.readouterr().out
    assert main(["silence", "expire", silence_id, *at]) == 0
    assert main(["silence", "expire", "nosuch", *at]) == 2
    assert "HTTP 404: no silence 'nosuch'" in capsys.readouterr().err
    monkeypatch.setenv("GROUNDSWELL_API_TOKEN", "wrong")
    assert main(["alerts", "list", *at]) == 2
    assert "HTTP 401: missing or wrong bearer token" in capsys.readouterr().err
    monkeypatch.delenv("GROUNDSWELL_API_TOKEN")
    assert main(["alerts", "list", *at]) == 2
    assert "--url needs the API token: set GROUNDSWELL_API_TOKEN" in capsys.readouterr().err
