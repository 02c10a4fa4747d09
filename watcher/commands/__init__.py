"""One module per `groundswell` subcommand, each with a `register(subparsers)`."""

from __future__ import annotations

__all__ = [
    "alerts",
    "backtest",
    "check",
    "cluster",
    "common",
    "publish_playbooks",
    "records",
    "replay",
    "run",
    "schema",
    "series",
    "silence",
    "simulate",
]
