"""Delivery channels other than Slack: console, NDJSON file, signed webhook, email (SMTP).

Each takes an alert and returns a `responders.base.Delivery`; the watcher injects the stream,
file handle or HTTP session. The webhook, and with it aiohttp (~0.13 s), and email (with
aiosmtplib) load on first use (PEP 562), so the CLI, which writes alerts as NDJSON, starts
without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from responders.channels.console import ConsoleResponder, render
from responders.channels.ndjson import NdjsonResponder, dump_alert

if TYPE_CHECKING:
    from responders.channels.mail import EmailResponder
    from responders.channels.webhook import WebhookResponder, sign

__all__ = [
    "ConsoleResponder",
    "EmailResponder",
    "NdjsonResponder",
    "WebhookResponder",
    "dump_alert",
    "render",
    "sign",
]
_LAZY = {
    "EmailResponder": "responders.channels.mail",
    "WebhookResponder": "responders.channels.webhook",
    "sign": "responders.channels.webhook",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
