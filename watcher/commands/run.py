"""`groundswell run`: the service, on the embedded demo or on the feeds given."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from watcher.commands.common import playbooks_or_exit
from watcher.settings import (
    DEFAULT_OUTBOX,
    DEFAULT_STATE,
    HttpSettings,
    Settings,
    SettingsError,
    load_service_file,
    read_environment,
    resolve,
)

_HTTP = HttpSettings()

SOURCES_HELP = (
    "feed to watch, repeatable: file:PATH[?speed=N][&follow=1] replays (or tails) posts NDJSON; "
    "mastodon:https://INSTANCE[#tag] (token in $GROUNDSWELL_MASTODON_TOKEN); "
    "jetstream:wss://HOST/subscribe; rss:URL; reddit:SUBREDDIT; "
    "ingest (POST /ingest, token in $GROUNDSWELL_INGEST_TOKEN)"
)


def settings_of(args: argparse.Namespace) -> Settings:
    """The service's settings: the defaults, then `--config FILE`, then the flags given."""
    file = load_service_file(args.config) if args.config is not None else None
    http = {"host": args.host or None, "port": args.http_port}
    given = {
        "playbooks": args.playbooks or None,
        "record": args.record,
        "state": args.state,
        "outbox": args.outbox,
        "reload": False if args.no_reload else None,
        "http": {key: value for key, value in http.items() if value is not None} or None,
    }
    flags = {key: value for key, value in given.items() if value is not None}
    return resolve(file, sources=args.source, flags=flags, env=read_environment())


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.service.compose import run_service  # aiohttp only when serving

    try:
        settings = settings_of(args)
    except SettingsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    checked = playbooks_or_exit(settings.playbooks, strict=args.strict)
    return asyncio.run(run_service(checked.playbooks, settings, skipped=checked.skipped))


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
        f"on shutdown and restored at start ({DEFAULT_STATE} in $GROUNDSWELL_DATA_DIR, "
        "./data by default; the demo keeps a throwaway one)",
    )
    run.add_argument(
        "--http-port", type=int, default=None, help=f"port for /metrics ({_HTTP.port})"
    )
    run.add_argument("--host", default=None, help=f"address to bind ({_HTTP.host})")
    run.add_argument(
        "--no-reload",
        action="store_true",
        help="do not watch the playbooks for changes (by default a valid edit goes live)",
    )
    run.add_argument(
        "--outbox",
        type=Path,
        help="SQLite file for the delivery outbox, Slack threads and button feedback "
        f"({DEFAULT_OUTBOX} in $GROUNDSWELL_DATA_DIR, ./data by default; the demo keeps a "
        "throwaway one)",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="refuse to start when a playbook has a warning or an error (by default a "
        "playbook with an error is skipped, named on /readyz, and the others run)",
    )
    run.set_defaults(func=cmd_run)
