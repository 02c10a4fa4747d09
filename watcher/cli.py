"""The `groundswell` command line: run, replay, check, simulate, score-series."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import logging
import math
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import orjson

from detectors.campaign import BucketStats, CampaignDetector
from detectors.params import DetectParams
from responders.base import Responder
from responders.console import ConsoleResponder
from responders.ndjson import dump_alert
from watcher.engine import Engine
from watcher.playbook import Playbook, PlaybookError, load_playbooks

log = logging.getLogger("groundswell")

DEFAULT_PLAYBOOKS = Path("playbooks")
CHUNK = 4096  # lines per engine batch in replay


def _playbooks_or_exit(paths: Sequence[Path]) -> list[Playbook]:
    try:
        playbooks = load_playbooks(paths)
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1) from None
    if not playbooks:
        print(f"no playbooks found in {', '.join(map(str, paths))}", file=sys.stderr)
        raise SystemExit(1)
    return playbooks


# -- check -----------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    try:
        playbooks = load_playbooks(args.paths)
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    if not playbooks:
        print(f"no playbooks found in {', '.join(map(str, args.paths))}")
        return 1
    for playbook in playbooks:
        print(f"ok: {playbook.name} ({len(playbook.watch.terms)} terms)")
    return 0


# -- replay ----------------------------------------------------------------------------------
def _chunks(handle: BinaryIO) -> Iterator[list[bytes]]:
    while True:
        lines = handle.readlines(CHUNK * 256)
        if not lines:
            return
        yield lines


def cmd_replay(args: argparse.Namespace) -> int:
    playbooks = _playbooks_or_exit(args.playbooks)
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


# -- simulate --------------------------------------------------------------------------------
def cmd_simulate(args: argparse.Namespace) -> int:
    from watcher import simulate  # keeps CLI start-up light

    count = simulate.write(args.scenario, args.out, seed=args.seed)
    print(f"simulate: wrote {count:,} posts ({args.scenario}) to {args.out}", file=sys.stderr)
    return 0


# -- score-series ----------------------------------------------------------------------------
def _read_series(path: Path) -> list[tuple[str, float, float]]:
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            try:
                moment = datetime.fromisoformat(row["timestamp"])
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                rows.append((row["timestamp"], moment.timestamp(), float(row["value"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise SystemExit(f"{path}:{n}: expected timestamp,value: {exc}") from None
    return rows


def score_series(rows: Sequence[tuple[str, float, float]]) -> list[float]:
    """Anomaly scores in [0, 1], causal; ≥ 0.5 exactly where the default detector alerts."""
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(rows) if b[1] > a[1]]
    minutes = max(1, min(60, round(statistics.median(gaps) / 60))) if gaps else 5
    detector = CampaignDetector(DetectParams(bucket_minutes=minutes))
    threshold = detector.thresholds.significance
    scores = []
    for _, ts, value in rows:
        decision = detector.update(BucketStats(ts, round(value)))
        squashed = 1.0 / (1.0 + math.exp(-(decision.score - threshold) / 2.0))
        if decision.transition == "new":
            scores.append(max(0.5, squashed))
        else:
            scores.append(min(squashed, 0.499))
    return scores


def cmd_score_series(args: argparse.Namespace) -> int:
    rows = _read_series(args.series)
    scores = score_series(rows)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(args.out.open("w", newline="")) if args.out else sys.stdout
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for (stamp, _, value), score in zip(rows, scores, strict=True):
            writer.writerow([stamp, f"{value:g}", f"{score:.6f}"])
    return 0


# -- run -------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from watcher.runner import run_service  # aiohttp only when serving

    playbooks = _playbooks_or_exit(args.playbooks)
    return asyncio.run(run_service(playbooks, args.source, host=args.host, port=args.http_port))


# -- schema ----------------------------------------------------------------------------------
SCHEMA_PATH = DEFAULT_PLAYBOOKS / "schema.json"


def playbook_schema() -> bytes:
    """The JSON Schema of a playbook, generated from the pydantic models."""
    schema = Playbook.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Groundswell playbook"
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def cmd_schema(args: argparse.Namespace) -> int:
    args.out.write_bytes(playbook_schema())
    print(f"schema: wrote {args.out}", file=sys.stderr)
    return 0


# -- parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groundswell",
        description="Spontaneous-campaign early warning: watch feeds for leaderless surges "
        "in your issue areas and brief the team with resources, voices and offers.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    run.set_defaults(func=cmd_run)

    replay = sub.add_parser("replay", help="run the pipeline over a recorded posts file")
    replay.add_argument("posts", type=Path, metavar="POSTS.ndjson")
    replay.add_argument("--playbooks", type=Path, nargs="+", default=[DEFAULT_PLAYBOOKS])
    replay.add_argument("--alerts-out", type=Path, help="write alerts NDJSON here (stdout)")
    replay.add_argument("--deliver", action="store_true", help="also send through responders")
    replay.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    replay.set_defaults(func=cmd_replay)

    check = sub.add_parser("check", help="validate playbooks; path:line:col per problem")
    check.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    check.set_defaults(func=cmd_check)

    simulate = sub.add_parser("simulate", help="write a simulated posts stream")
    simulate.add_argument("--scenario", default="trafigura", help="scenario name (trafigura)")
    simulate.add_argument("--out", type=Path, required=True, help="posts NDJSON to write")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (0)")
    simulate.set_defaults(func=cmd_simulate)

    schema = sub.add_parser("schema", help="regenerate the playbook JSON Schema for editors")
    schema.add_argument("--out", type=Path, default=SCHEMA_PATH, help=f"({SCHEMA_PATH})")
    schema.set_defaults(func=cmd_schema)

    series = sub.add_parser("score-series", help="score a NAB-format count series")
    series.add_argument("series", type=Path, metavar="SERIES.csv")
    series.add_argument("--out", type=Path, help="CSV to write (stdout)")
    series.set_defaults(func=cmd_score_series)
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
