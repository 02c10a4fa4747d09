"""`groundswell score-series SERIES.csv`: NAB-format anomaly scores from the default detector."""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from detectors.series import score_series
from watcher.commands.common import InputError, check_output


@contextlib.contextmanager
def _decoding(path: Path) -> Iterator[None]:
    try:
        yield
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); is it a CSV?") from None


def _read_series(path: Path) -> list[tuple[str, float, float]]:
    rows = []
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle, _decoding(path):
        for n, row in enumerate(csv.DictReader(handle), start=2):
            try:
                moment = datetime.fromisoformat(row["timestamp"])
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                rows.append((row["timestamp"], moment.timestamp(), float(row["value"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"{path}:{n}: expected timestamp,value: {exc}") from None
    return rows


def cmd_score_series(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_output(args.out)
    rows = _read_series(args.series)
    scores = score_series([(ts, value) for _, ts, value in rows])
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(args.out.open("w", newline="")) if args.out else sys.stdout
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score"])
        for (stamp, _, value), score in zip(rows, scores, strict=True):
            writer.writerow([stamp, f"{value:g}", f"{score:.6f}"])
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    series = sub.add_parser("score-series", help="score a NAB-format count series")
    series.add_argument("series", type=Path, metavar="SERIES.csv")
    series.add_argument("--out", type=Path, help="CSV to write (stdout)")
    series.set_defaults(func=cmd_score_series)
