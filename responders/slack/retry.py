"""Retries inside one Slack Web API call: 429 waits out `Retry-After`, 5xx backs off.

The outbox retries a whole delivery later; this handler retries one API call now, for the
short waits Slack asks for. A 429 asking for more than `MAX_INLINE_WAIT_S` is not waited
out here: the call fails and the outbox's own schedule takes over.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

Sleep = Callable[[float], Awaitable[None]]
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
