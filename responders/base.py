"""The responder contract: send one alert, report what happened, never raise for the expected.

Also the outbox's `Job`, the `OutboxResponder` that takes jobs, `Plain` (which adapts a simple
responder to it), and `http_failure`, the one reading of an HTTP error status that the
webhook responders share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from responders.alert import Alert

Outcome = Literal["sent", "failed", "suppressed"]


@dataclass(frozen=True, slots=True)
class Delivery:
    responder: str
    outcome: Outcome
    reason: str = ""
    #: Seconds the far end asked us to wait before trying again (HTTP 429 Retry-After).
    retry_after: float = 0.0
    #: True when trying again cannot help (bad token, unknown channel, rejected blocks).
    permanent: bool = False


def http_failure(name: str, status: int, retry_after: str | None) -> Delivery:
    """An HTTP error status as a failed delivery: a 429 waits `Retry-After` (seconds), and
    other 4xx but 408 and 409 are permanent (the same request will be refused again)."""
    if status == 429:
        wait = float(retry_after) if retry_after and retry_after.isdigit() else 1.0
        return Delivery(name, "failed", "rate limited (429)", retry_after=wait)
    permanent = 400 <= status < 500 and status not in {408, 409}
    return Delivery(name, "failed", f"HTTP {status}", permanent=permanent)


class Responder(Protocol):
    name: str

    async def send(self, alert: Alert) -> Delivery: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Job:
    """One alert for one channel, as the outbox hands it over."""

    key: str  # unique per alert and channel, the same across restarts
    alert: Alert
    attempt: int = 1  # > 1 when an earlier attempt may have reached the far end
    quiet: bool = False  # inside the campaign's cooldown: edit in place, do not ping


@runtime_checkable
class OutboxResponder(Protocol):
    """A responder that takes jobs from the outbox (Slack, webhook): it may thread, edit, or
    check whether an in-doubt earlier attempt already got through."""

    name: str

    async def deliver(self, job: Job) -> Delivery: ...

    async def aclose(self) -> None: ...


class Plain:
    """Adapts a simple `Responder` to the outbox: quiet updates are skipped."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.name = responder.name

    async def deliver(self, job: Job) -> Delivery:
        if job.quiet:
            return Delivery(self.name, "suppressed", "cooldown")
        return await self.responder.send(job.alert)

    async def aclose(self) -> None:
        await self.responder.aclose()
