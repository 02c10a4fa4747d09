"""The `groundswell` command line. Each subcommand lives in `watcher/commands/`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from watcher.commands import backtest, check, replay, run, schema, series, simulate

#: Subcommands in the order `--help` lists them.
COMMANDS = (run, replay, check, simulate, series, schema, backtest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groundswell",
        description="Spontaneous-campaign early warning: watch feeds for leaderless surges "
        "in your issue areas and brief the team with resources, voices and offers.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        result: int = args.func(args)
    except BrokenPipeError:
        return 1
    return result
