"""The responder contract: send one alert, report what happened, never raise for the expected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from responders.alert import Alert

Outcome = Literal["sent", "failed", "suppressed"]


@dataclass(frozen=True, slots=True)
class Delivery:
    responder: str
    outcome: Outcome
    reason: str = ""


class Responder(Protocol):
    name: str

    async def send(self, alert: Alert) -> Delivery: ...

    async def aclose(self) -> None: ...
