"""`groundswell run`: the service, on the embedded demo or on the feeds given."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from watcher.commands.common import DEFAULT_PLAYBOOKS, playbooks_or_exit


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.runner import run_service  # aiohttp only when serving

    playbooks = playbooks_or_exit(args.playbooks)
    return asyncio.run(
        run_service(playbooks, args.source, host=args.host, port=args.http_port, outbox=args.outbox)
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the service (with no --source: the embedded demo)")
    run.add_argument("--playbooks", type=Path, nargs="+", default=[DEFAULT_PLAYBOOKS])
    run.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SPEC",
        help="feed to watch, repeatable: file:PATH[?speed=N] replays posts NDJSON "
        "(speed N× event time; default as fast as possible)",
    )
    run.add_argument("--http-port", type=int, default=9108, help="port for /metrics (9108)")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    run.add_argument(
        "--outbox",
        type=Path,
        default=Path("groundswell-outbox.sqlite3"),
        help="SQLite file for the delivery outbox, Slack threads and button feedback "
        "(groundswell-outbox.sqlite3)",
    )
    run.set_defaults(func=cmd_run)
