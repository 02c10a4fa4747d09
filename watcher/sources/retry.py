"""The one reconnect loop every live source runs in, and the kinds of error it tells apart.

- Fatal (401, 403, other 4xx): retrying cannot help until someone acts (a token, a URL), so
  the source stops and reports itself failed, loudly, instead of hammering the server.
- Rate-limited (429, or 503 with `Retry-After`): sleep for as long as the server asks.
- Transient (5xx, refused or dropped connections, read timeouts, a stream the server ended):
  exponential backoff with jitter, reset once a connection has worked, so a fleet of
  watchers does not reconnect in lockstep after an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

import aiohttp

from watcher.errors import GroundswellError
from watcher.post import Post
from watcher.sources.base import SourceHealth

log = logging.getLogger("groundswell.sources")

#: A server asking for a longer wait than this is misconfigured; retry after this instead.
MAX_RETRY_AFTER_S = 6 * 3600.0


class SourceError(GroundswellError):
    """A feed failed; the subclass says how to react."""

    what = "source"


class FatalError(SourceError):
    """Retrying cannot help until someone fixes the configuration."""


class TransientError(SourceError):
    """Worth retrying after a backoff."""


class RateLimited(SourceError):
    """The server asked us to wait `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


#: Errors that mean "the connection broke": retried with backoff.
TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    aiohttp.ClientError,
    TimeoutError,
    OSError,
)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date.

    >>> retry_after("7", 0.0)
    7.0
    >>> retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 30.0)
    30.0
    >>> retry_after("soon", 0.0) is None
    True
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # delta-seconds is digits only: no NaN, no -1
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return min(max(moment.timestamp() - now, 0.0), MAX_RETRY_AFTER_S)


def check_status(
    what: str, status: int, headers: Mapping[str, str], now: float, *, default_wait: float = 60.0
) -> None:
    """Raise the right `SourceError` for an HTTP status that is not a success."""
    if status < 400:
        return
    if status in (401, 403):
        raise FatalError(
            f"{what}: HTTP {status}: the server refused our credentials; "
            "check the access token and its scopes, then restart"
        )
    hint = retry_after(headers.get("Retry-After"), now)
    if status == 429 or (status == 503 and hint is not None):
        raise RateLimited(
            f"{what}: HTTP {status}: rate limited", default_wait if hint is None else hint
        )
    if status >= 500:
        raise TransientError(f"{what}: HTTP {status}: server error")
    raise FatalError(f"{what}: HTTP {status}: check the source's URL or name")


@dataclass
class Backoff:
    """Exponential backoff with 'equal jitter': a delay in [cap/2, cap], cap doubling."""

    initial: float = 1.0
    maximum: float = 120.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next(self) -> float:
        cap = min(self.maximum, self.initial * self.factor**self.attempt)
        # capped so that a feed failing for days never overflows the float power above
        self.attempt = min(self.attempt + 1, 64)
        return self.rng.uniform(cap / 2, cap)

    def reset(self) -> None:
        self.attempt = 0


Sleep = Callable[[float], Awaitable[None]]


async def reconnecting(
    name: str,
    health: SourceHealth,
    attempt: Callable[[], AsyncGenerator[list[Post], None]],
    backoff: Backoff,
    *,
    sleep: Sleep = asyncio.sleep,
) -> AsyncGenerator[list[Post], None]:
    """Run `attempt()` again and again, waiting as each kind of error asks; stop on fatal.

    An attempt sets `health.connected` once the server has accepted it; that is the success
    that resets the backoff.
    """
    while True:
        health.state = "connecting"
        try:
            async with contextlib.aclosing(attempt()) as batches:
                async for batch in batches:
                    yield batch
            reason, wait, state = "the server ended the stream", None, "backoff"
        except FatalError as exc:
            health.connected = False
            health.state = "failed"
            health.last_error = str(exc)
            log.error("%s stopped: %s", name, exc)
            return
        except RateLimited as exc:
            reason, wait, state = str(exc), exc.retry_after, "rate_limited"
        except TRANSIENT as exc:
            reason, wait, state = f"{type(exc).__name__}: {exc}", None, "backoff"
        if health.connected:
            backoff.reset()
        health.connected = False
        health.state = state
        health.last_error = reason
        health.reconnects += 1
        delay = backoff.next() if wait is None else wait
        log.warning("%s: %s; reconnecting in %.1f s", name, reason, delay)
        await sleep(delay)
