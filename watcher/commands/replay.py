"""`groundswell replay POSTS.ndjson`: the whole pipeline over a recorded file, on event time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import math
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from responders.channels.ndjson import dump_alert
from watcher.commands.common import (
    DEFAULT_PLAYBOOKS,
    check_output,
    open_input,
    playbooks_or_exit,
)
from watcher.errors import GroundswellError
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook

if TYPE_CHECKING:  # delivery pulls in aiohttp and slack-sdk: only --deliver pays for them
    from responders.delivery.dispatch import Dispatcher
    from watcher.service.delivery import DeliveryConfig, DeliveryStack

CHUNK_BYTES = 1 << 20  # lines read per engine batch


class DiskFullError(GroundswellError):
    """The disk under the outbox or the alerts file filled during a replay."""

    what = "disk"


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` is a full disk: SQLite's SQLITE_FULL, or ENOSPC/EDQUOT from a write."""
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _chunks(handle: BinaryIO) -> Iterator[list[bytes]]:
    while True:
        lines = handle.readlines(CHUNK_BYTES)
        if not lines:
            return
        yield lines


def cmd_replay(args: argparse.Namespace) -> int:
    playbooks = playbooks_or_exit(args.playbooks, strict=args.strict).playbooks
    engine = Engine(playbooks)
    progress = sys.stderr.isatty() and not args.quiet
    open_input(args.posts).close()  # a missing posts file is said before anything is written
    if args.alerts_out:
        check_output(args.alerts_out)
    if args.outbox:
        check_output(args.outbox)
    out: BinaryIO = args.alerts_out.open("wb") if args.alerts_out else sys.stdout.buffer
    started = time.perf_counter()
    alerts = 0
    runner = asyncio.Runner()  # one event loop for the whole replay: the HTTP session lives on it
    delivery: DeliveryStack | None = None
    tmp = tempfile.TemporaryDirectory(prefix="groundswell-")  # a fresh outbox unless --outbox
    if args.deliver:
        from watcher.service.delivery import DeliveryConfig
        from watcher.settings import read_environment

        outbox = args.outbox or Path(tmp.name) / "outbox.sqlite3"
        config = DeliveryConfig.from_environment(read_environment(), outbox, sys.stderr)
        delivery = runner.run(_build(playbooks, config, args.retry_first))
    dispatcher = delivery.dispatcher if delivery else None
    try:
        with open_input(args.posts) as handle:
            total = max(args.posts.stat().st_size, 1)
            for lines in _chunks(handle):
                engine.feed_lines(lines, source="replay")
                alerts += _emit(engine, out, dispatcher, runner)
                if progress:
                    done = handle.tell() / total
                    print(
                        f"\r{done:6.1%}  {engine.stats.received:,} posts  {alerts} alerts",
                        end="",
                        file=sys.stderr,
                    )
        engine.flush()
        alerts += _emit(engine, out, dispatcher, runner)
        if dispatcher is not None:  # also what an earlier, interrupted run left pending
            runner.run(dispatcher.drain())
    except (sqlite3.OperationalError, OSError) as exc:
        if not disk_full(exc):
            raise
        again = f"replay again with --outbox {args.outbox}" if args.outbox else "replay again"
        raise DiskFullError(
            f"the disk filled during the replay ({exc}) after {sum(engine.stats.alerts.values())} "
            "alerts; those already "
            f"in the outbox stay there: free some space and {again} to deliver the rest"
        ) from None
    finally:
        with contextlib.suppress(OSError):  # a full disk was said above, once
            if args.alerts_out:
                out.close()
            else:
                out.flush()
        if delivery is not None:
            with contextlib.suppress(sqlite3.OperationalError):
                runner.run(delivery.aclose())
        runner.close()
        tmp.cleanup()
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
    if dispatcher is not None:
        t = dispatcher.tally
        print(
            f"replay: delivered {t.sent}, suppressed {t.suppressed}, retried {t.retried}, "
            f"failed {t.failed}",
            file=sys.stderr,
        )
        return 1 if t.failed else 0
    return 0


async def _build(
    playbooks: Sequence[Playbook], config: DeliveryConfig, first: float
) -> DeliveryStack:
    from watcher.service.delivery import build_delivery

    return build_delivery(playbooks, config, retry_first=first)


def _emit(
    engine: Engine, out: BinaryIO, dispatcher: Dispatcher | None, runner: asyncio.Runner
) -> int:
    alerts = engine.drain_alerts()
    for alert in alerts:
        out.write(dump_alert(alert))
        if dispatcher is not None:
            dispatcher.enqueue(alert)  # stored before anything is sent
    if dispatcher is not None and alerts:
        runner.run(dispatcher.drain())
    return len(alerts)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = sub.add_parser("replay", help="run the pipeline over a recorded posts file")
    replay.add_argument("posts", type=Path, metavar="POSTS.ndjson")
    replay.add_argument(
        "--playbooks",
        type=Path,
        nargs="+",
        default=[DEFAULT_PLAYBOOKS],
        help=f"playbook files or folders ({DEFAULT_PLAYBOOKS})",
    )
    replay.add_argument("--alerts-out", type=Path, help="write alerts NDJSON here (stdout)")
    replay.add_argument(
        "--deliver",
        action="store_true",
        help="also send alerts through each playbook's responders (console on stderr; Slack "
        "when SLACK_BOT_TOKEN is set), via the outbox",
    )
    replay.add_argument(
        "--outbox",
        type=Path,
        help="SQLite outbox for --deliver; give the same file to a re-run after a crash to "
        "deliver what is missing without duplicates (default: a fresh temporary one)",
    )
    replay.add_argument(
        "--retry-first",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="first wait before retrying a failed delivery, doubling each time (0.5); "
        "a 429's Retry-After is always honoured",
    )
    replay.add_argument(
        "--strict",
        action="store_true",
        help="refuse to start when a playbook has a warning or an error (by default a "
        "playbook with an error is skipped and the others run)",
    )
    replay.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    replay.set_defaults(func=cmd_replay)
