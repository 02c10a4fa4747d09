"""`groundswell replay POSTS.ndjson`: the whole pipeline over a recorded file, on event time."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from responders.base import Responder
from responders.console import ConsoleResponder
from responders.ndjson import dump_alert
from watcher.commands.common import DEFAULT_PLAYBOOKS, playbooks_or_exit
from watcher.engine import Engine

CHUNK_BYTES = 1 << 20  # lines read per engine batch


def _chunks(handle: BinaryIO) -> Iterator[list[bytes]]:
    while True:
        lines = handle.readlines(CHUNK_BYTES)
        if not lines:
            return
        yield lines


def cmd_replay(args: argparse.Namespace) -> int:
    playbooks = playbooks_or_exit(args.playbooks)
    engine = Engine(playbooks)
    progress = sys.stderr.isatty() and not args.quiet
    out: BinaryIO = args.alerts_out.open("wb") if args.alerts_out else sys.stdout.buffer
    responders: list[Responder] = [ConsoleResponder(sys.stderr)] if args.deliver else []
    started = time.perf_counter()
    alerts = 0
    try:
        with args.posts.open("rb") as handle:
            total = max(args.posts.stat().st_size, 1)
            for lines in _chunks(handle):
                engine.feed_lines(lines, source="replay")
                alerts += _emit(engine, out, responders)
                if progress:
                    done = handle.tell() / total
                    print(
                        f"\r{done:6.1%}  {engine.stats.received:,} posts  {alerts} alerts",
                        end="",
                        file=sys.stderr,
                    )
        engine.flush()
        alerts += _emit(engine, out, responders)
    finally:
        if args.alerts_out:
            out.close()
        else:
            out.flush()
    elapsed = time.perf_counter() - started
    s = engine.stats
    rate = s.received / elapsed if elapsed > 0 else math.inf
    if progress:
        print("\r", end="", file=sys.stderr)
    print(
        f"replay: {s.received:,} posts, {sum(s.matched.values()):,} matched, "
        f"{s.malformed:,} malformed, {s.late:,} late, {alerts} alerts "
        f"({s.alerts['new']} new), {elapsed:.2f}s, {rate:,.0f} posts/s",
        file=sys.stderr,
    )
    if s.malformed and s.last_error:
        print(f"replay: last malformed line: {s.last_error}", file=sys.stderr)
    return 0


def _emit(engine: Engine, out: BinaryIO, responders: Sequence[Responder]) -> int:
    alerts = engine.drain_alerts()
    for alert in alerts:
        out.write(dump_alert(alert))
        for responder in responders:
            asyncio.run(responder.send(alert))
    return len(alerts)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = sub.add_parser("replay", help="run the pipeline over a recorded posts file")
    replay.add_argument("posts", type=Path, metavar="POSTS.ndjson")
    replay.add_argument("--playbooks", type=Path, nargs="+", default=[DEFAULT_PLAYBOOKS])
    replay.add_argument("--alerts-out", type=Path, help="write alerts NDJSON here (stdout)")
    replay.add_argument("--deliver", action="store_true", help="also send through responders")
    replay.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    replay.set_defaults(func=cmd_replay)
