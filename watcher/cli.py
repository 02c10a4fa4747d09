"""The `groundswell` command line. Each subcommand lives in `watcher/commands/`."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence

from watcher.commands import (
    alerts,
    backtest,
    check,
    cluster,
    publish_playbooks,
    replay,
    run,
    schema,
    series,
    silence,
    simulate,
)
from watcher.errors import GroundswellError

#: CPython's cyclic collector runs a young-generation pass every 700 container allocations
#: and, every hundred of those, walks everything long-lived: here, every playbook's
#: buckets, history, token baseline and campaign tally. The pipeline makes many short-lived
#: containers (a token set per matched post, per-bucket counters) and almost no cycles, so
#: at the default the collector, not the work, was a third of a replay: measured on
#: `bench/throughput.py`'s 1M-post file, 20.3 s at (700, 10, 10), 12.8 s at these, 13.1 s
#: with the collector off. Cycles are still collected, just in larger, rarer passes.
GC_THRESHOLDS = (50_000, 20, 20)

#: The exit status for an expected failure no subcommand reported itself (as for bad usage).
EXIT_FAILED = 2

#: Subcommands in the order `--help` lists them.
COMMANDS = (
    run,
    replay,
    check,
    simulate,
    series,
    schema,
    backtest,
    alerts,
    silence,
    cluster,
    publish_playbooks,
)


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
    gc.set_threshold(*GC_THRESHOLDS)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        result: int = args.func(args)
    except BrokenPipeError:
        return 1
    except GroundswellError as exc:  # expected: say what and why in one line, no traceback
        print(exc.one_line(), file=sys.stderr)
        return EXIT_FAILED
    return result
