"""One module per `groundswell` subcommand, each with a `register(subparsers)`."""

from __future__ import annotations

__all__ = [
    "backtest",
    "check",
    "common",
    "replay",
    "run",
    "schema",
    "series",
    "simulate",
]
