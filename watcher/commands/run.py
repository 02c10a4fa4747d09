"""`groundswell run`: the service, on the embedded demo or on the feeds given."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from watcher.commands.common import DEFAULT_PLAYBOOKS, playbooks_or_exit

SOURCES_HELP = (
    "feed to watch, repeatable: file:PATH[?speed=N][&follow=1] replays (or tails) posts NDJSON; "
    "mastodon:https://INSTANCE[#tag] (token in $GROUNDSWELL_MASTODON_TOKEN); "
    "jetstream:wss://HOST/subscribe; rss:URL; reddit:SUBREDDIT; "
    "ingest (POST /ingest, token in $GROUNDSWELL_INGEST_TOKEN)"
)


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.service.compose import run_service  # aiohttp only when serving
    from watcher.service.config import ConfigError, load_config
    from watcher.sources.specs import SourceOptions

    specs = list(args.source)
    options: dict[str, SourceOptions] = {}
    playbook_paths = args.playbooks
    host, port, record, state = args.host, args.http_port, args.record, args.state
    if args.config is not None:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        for entry in config.entries():
            specs.append(entry.spec)
            options[entry.spec] = entry.options()
        playbook_paths = playbook_paths or config.playbooks
        host = host or config.http.host
        port = config.http.port if port is None else port
        record = record or config.record
        state = state or config.state
    playbook_paths = playbook_paths or [DEFAULT_PLAYBOOKS]
    playbooks = playbooks_or_exit(playbook_paths)
    return asyncio.run(
        run_service(
            playbooks,
            specs,
            host=host or "127.0.0.1",
            port=9108 if port is None else port,
            record=record,
            state=state,
            options=options,
            watch=[] if args.no_reload else playbook_paths,
            outbox=args.outbox,
        )
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the service (with no --source: the embedded demo)")
    run.add_argument("--playbooks", type=Path, nargs="+", default=None)
    run.add_argument("--source", action="append", default=[], metavar="SPEC", help=SOURCES_HELP)
    run.add_argument("--config", type=Path, metavar="FILE", help="service config YAML (see README)")
    run.add_argument(
        "--record", type=Path, metavar="FILE", help="append every admitted post to FILE (NDJSON)"
    )
    run.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="SQLite file for detector state and feed cursors, checkpointed every minute and "
        "on shutdown and restored at start (groundswell-state.sqlite; the demo keeps a "
        "throwaway one)",
    )
    run.add_argument("--http-port", type=int, default=None, help="port for /metrics (9108)")
    run.add_argument("--host", default=None, help="address to bind (127.0.0.1)")
    run.add_argument(
        "--no-reload",
        action="store_true",
        help="do not watch the playbooks for changes (by default a valid edit goes live)",
    )
    run.add_argument(
        "--outbox",
        type=Path,
        help="SQLite file for the delivery outbox, Slack threads and button feedback "
        "(groundswell-outbox.sqlite3; the demo keeps a throwaway one)",
    )
    run.set_defaults(func=cmd_run)
