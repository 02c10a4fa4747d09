"""Append each alert as one line of the alerts NDJSON format."""

from __future__ import annotations

from typing import BinaryIO

import orjson

from responders.alert import Alert
from responders.base import Delivery


def dump_alert(alert: Alert) -> bytes:
    return orjson.dumps(alert.to_json()) + b"\n"


class NdjsonResponder:
    """Writes alerts to a binary stream; the caller owns opening and closing it."""

    def __init__(self, stream: BinaryIO, *, name: str = "ndjson") -> None:
        self._stream = stream
        self.name = name

    async def send(self, alert: Alert) -> Delivery:
        try:
            self._stream.write(dump_alert(alert))
            self._stream.flush()
        except OSError as exc:
            return Delivery(self.name, "failed", str(exc))
        return Delivery(self.name, "sent")

    async def aclose(self) -> None:
        self._stream.flush()
