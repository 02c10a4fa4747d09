"""One module per `groundswell` subcommand, each with a `register(subparsers)`."""

from __future__ import annotations

__all__ = [
    "backtest",
    "check",
    "cluster",
    "common",
    "replay",
    "run",
    "schema",
    "series",
    "simulate",
]
