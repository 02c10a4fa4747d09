"""Where `groundswell alerts` and `groundswell silence` read and write: a file or a service.

With `--url` they call a running service's `/api/v1` (bearer token in
`$GROUNDSWELL_API_TOKEN`); otherwise they open the same outbox file `run` and
`replay --deliver --outbox FILE` use (`--outbox`, by default the one in the data directory).
Both give the same JSON (`responders.delivery.records`), so the commands print the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import orjson
from pydantic import ValidationError

from responders.delivery.outbox import Outbox
from responders.delivery.records import (
    FeedbackRequest,
    RecordError,
    Records,
    SilenceRequest,
    explain,
)
from watcher.errors import GroundswellError
from watcher.settings import API_TOKEN_VARIABLE, DEFAULT_OUTBOX, read_environment

#: The API's path prefix on the service port.
API = "/api/v1"
TIMEOUT_S = 10.0


class RecordsError(GroundswellError):
    """The history or silences cannot be read or changed (no file, no service, a bad id)."""

    what = "records"


class Store(Protocol):
    """What the commands need, from a file or a service."""

    def alerts(self, query: Mapping[str, Any]) -> list[dict[str, Any]]: ...

    def alert(self, campaign_id: str) -> dict[str, Any]: ...

    def feedback(self, campaign_id: str, request: FeedbackRequest) -> dict[str, Any]: ...

    def silences(self, *, expired: bool) -> list[dict[str, Any]]: ...

    def add_silence(self, request: SilenceRequest) -> dict[str, Any]: ...

    def expire(self, silence_id: str) -> dict[str, Any]: ...


class FileStore:
    """The records in an outbox file, opened for one command."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise RecordsError(
                f"{path}: no outbox there; give the --outbox FILE that `run` or `replay "
                "--deliver --outbox` used, or --url of a running service"
            )
        try:
            self.outbox = Outbox(path)
        except sqlite3.Error as exc:
            raise RecordsError(f"{path}: cannot open it as an outbox ({exc})") from None
        self.records = Records(self.outbox, now=time.time)

    def close(self) -> None:
        self.outbox.close()

    def alerts(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.records.alerts(**query)

    def alert(self, campaign_id: str) -> dict[str, Any]:
        return self.records.alert(campaign_id)

    def feedback(self, campaign_id: str, request: FeedbackRequest) -> dict[str, Any]:
        return self.records.feedback(campaign_id, request)

    def silences(self, *, expired: bool) -> list[dict[str, Any]]:
        return self.records.silences(expired=expired)

    def add_silence(self, request: SilenceRequest) -> dict[str, Any]:
        return self.records.add_silence(request)

    def expire(self, silence_id: str) -> dict[str, Any]:
        return self.records.expire(silence_id)


class ApiStore:
    """The records of a running service, through its `/api/v1`."""

    def __init__(self, url: str, token: str) -> None:
        if not token:
            raise RecordsError(f"--url needs the API token: set {API_TOKEN_VARIABLE}")
        self.base = url.rstrip("/") + API
        self.token = token

    def close(self) -> None:
        """Each call has its own connection."""

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        body: object = None,
    ) -> Any:
        return asyncio.run(self._request(method, path, params, body))

    async def _request(
        self, method: str, path: str, params: Sequence[tuple[str, str]], body: object
    ) -> Any:
        import aiohttp  # only --url pays for it

        headers = {"Authorization": f"Bearer {self.token}"}
        data = None if body is None else orjson.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(
                    method, self.base + path, params=list(params), data=data, headers=headers
                ) as response,
            ):
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RecordsError(f"cannot reach {self.base}: {exc or type(exc).__name__}") from None
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            answer = {"error": raw[:200].decode(errors="replace")}
        if status >= 400:
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise RecordsError(f"{self.base}{path}: HTTP {status}: {error}")
        return answer

    def alerts(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        params = [(key, str(value)) for key, value in query.items() if key != "states"]
        params += [("state", state) for state in query.get("states", ())]
        answer: list[dict[str, Any]] = self._call("GET", "/alerts", params=params)
        return answer

    def alert(self, campaign_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", f"/alerts/{quote(campaign_id, safe='')}")
        return answer

    def feedback(self, campaign_id: str, request: FeedbackRequest) -> dict[str, Any]:
        path = f"/alerts/{quote(campaign_id, safe='')}/feedback"
        answer: dict[str, Any] = self._call("POST", path, body=request.model_dump(mode="json"))
        return answer

    def silences(self, *, expired: bool) -> list[dict[str, Any]]:
        params = [("expired", "true")] if expired else []
        answer: list[dict[str, Any]] = self._call("GET", "/silences", params=params)
        return answer

    def add_silence(self, request: SilenceRequest) -> dict[str, Any]:
        body = request.model_dump(mode="json", exclude_none=True)
        answer: dict[str, Any] = self._call("POST", "/silences", body=body)
        return answer

    def expire(self, silence_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("DELETE", f"/silences/{quote(silence_id, safe='')}")
        return answer


@contextlib.contextmanager
def open_store(args: argparse.Namespace) -> Iterator[Store]:
    """The store the flags name; `RecordError`s inside come out as one-line `RecordsError`s."""
    env = read_environment()
    store: FileStore | ApiStore
    if args.url:
        store = ApiStore(args.url, env.api_token)
    else:
        store = FileStore(args.outbox or env.data_dir / DEFAULT_OUTBOX)
    try:
        yield store
    except RecordError as exc:
        raise RecordsError(str(exc)) from None
    except ValidationError as exc:
        raise RecordsError(explain(exc)) from None
    finally:
        store.close()


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    """`--outbox FILE` and `--url URL`, on every command that reads or writes records."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--outbox",
        type=Path,
        metavar="FILE",
        help="the outbox file `run` or `replay --deliver --outbox` uses "
        f"({DEFAULT_OUTBOX} in $GROUNDSWELL_DATA_DIR, ./data by default)",
    )
    where.add_argument(
        "--url",
        metavar="URL",
        help=f"a running service (e.g. http://127.0.0.1:9108), token in ${API_TOKEN_VARIABLE}",
    )
