"""The Numenta Anomaly Benchmark scorer, re-implemented from NAB's rules (nab-scoring.md §2).

Standard profile (A_TP = 1, A_FP = 0.11, A_FN = 1), probation of min(⌊0.15·N⌋, 750) rows, the
scaled sigmoid, and a fixed threshold: a record is a detection when its score ≥ 0.5. Only the
first detection in a window counts; every detected record outside a window costs on its own.

Run it as `python -m bench.nab` to score `groundswell score-series` output (the default
detector, through `detectors.series.score_series`) on the development series in
`../shared/data/nab`; it prints one line per file and the normalised score.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAB_DATA = REPO.parent / "shared" / "data" / "nab"
THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Profile:
    """NAB's application-profile weights, stored positive as NAB stores them."""

    tp: float = 1.0
    fp: float = 0.11
    fn: float = 1.0


STANDARD = Profile()


@dataclass(frozen=True, slots=True)
class FileScore:
    """One file's raw NAB score and what it was made of."""

    name: str
    raw: float
    windows: int
    hit: int
    false_alarms: int  # detected records outside every window, after probation
    detections: tuple[int, ...]  # rows of every scored detection


def sigmoid(y: float) -> float:
    """NAB's scaled sigmoid: 2/(1+e^(5y)) − 1, and exactly −1 beyond y = 3.

    >>> round(sigmoid(-1.0), 8), sigmoid(0.0), sigmoid(3.5)
    (0.9866143, 0.0, -1.0)
    """
    if y > 3:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation(rows: int) -> int:
    """Rows at the start of a file that are neither scored nor counted."""
    return min(math.floor(0.15 * rows), 750)


def window_rows(stamps: Sequence[str], windows: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    """Windows as inclusive row ranges, found by exact timestamp (first occurrence wins)."""
    index: dict[datetime, int] = {}
    for row, stamp in enumerate(stamps):
        index.setdefault(_moment(stamp), row)
    out = []
    for start, end in windows:
        try:
            out.append((index[_moment(start)], index[_moment(end)]))
        except KeyError as exc:
            raise ValueError(f"window {start}..{end}: timestamp {exc} is not in the file") from None
    return sorted(out)


def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


def score_file(
    name: str,
    detected: Sequence[bool],
    windows: Sequence[tuple[int, int]],
    profile: Profile = STANDARD,
) -> FileScore:
    """The raw NAB score of one file's detections against its windows (row ranges)."""
    first = probation(len(detected))
    windows = [(lo, hi) for lo, hi in sorted(windows) if hi >= first]
    best: list[float | None] = [None] * len(windows)
    raw, false_alarms, rows = 0.0, 0, []
    for row in range(first, len(detected)):
        if not detected[row]:
            continue
        rows.append(row)
        inside = next((k for k, (lo, hi) in enumerate(windows) if lo <= row <= hi), None)
        if inside is not None:
            lo, hi = windows[inside]
            value = profile.tp * sigmoid(-(hi - row + 1) / (hi - lo + 1)) / sigmoid(-1.0)
            previous = best[inside]
            best[inside] = value if previous is None else max(previous, value)
            continue
        false_alarms += 1
        ended = [(lo, hi) for lo, hi in windows if hi < row]
        if ended:
            lo, hi = ended[-1]
            raw += profile.fp * sigmoid((row - hi) / (hi - lo))  # NAB uses W′ − 1 here
        else:
            raw -= profile.fp
    raw += sum(-profile.fn if value is None else value for value in best)
    hit = sum(value is not None for value in best)
    return FileScore(name, raw, len(windows), hit, false_alarms, tuple(rows))


def normalised(scores: Sequence[FileScore], profile: Profile = STANDARD) -> float:
    """100·(S − S_null)/(S_perfect − S_null) over the given files."""
    windows = sum(s.windows for s in scores)
    null, perfect = -profile.fn * windows, profile.tp * windows
    return 100.0 * (sum(s.raw for s in scores) - null) / (perfect - null)


def read_series(path: Path) -> tuple[list[str], list[tuple[float, float]]]:
    """A NAB csv as (timestamps as written, (epoch seconds, value) rows)."""
    stamps, rows = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stamps.append(row["timestamp"])
            rows.append((_moment(row["timestamp"]).timestamp(), float(row["value"])))
    return stamps, rows


Scorer = Callable[[Sequence[tuple[float, float]]], list[float]]


def run(
    data: Path = NAB_DATA, scorer: Scorer | None = None, family: str = "realTweets"
) -> list[FileScore]:
    """Score the files of one NAB family (a folder of `data`, e.g. `realTweets`, the
    development split) listed in `data/windows.json` with `scorer` at the fixed threshold.

    The data set also carries other families as generalisation checks (`realKnownCause`,
    `artificialNoAnomaly`); they are scored only when asked for by name, so the development
    figure stays comparable from one data drop to the next.
    """
    if scorer is None:
        from detectors.series import score_series

        scorer = score_series
    labels: dict[str, list[list[str]]] = json.loads((data / "windows.json").read_text())
    results = []
    for name, spans in sorted(labels.items()):
        if Path(name).parts[0] != family:
            continue
        stamps, rows = read_series(data / name)
        scores = scorer(rows)
        detected = [score >= THRESHOLD for score in scores]
        windows = window_rows(stamps, [(a, b) for a, b in spans])
        results.append(score_file(Path(name).stem, detected, windows))
    return results


def report(results: Sequence[FileScore]) -> str:
    lines = [
        f"{r.name:<22} raw {r.raw:+7.3f}  windows {r.hit}/{r.windows}  "
        f"false alarms {r.false_alarms}"
        for r in results
    ]
    hit = sum(r.hit for r in results)
    windows = sum(r.windows for r in results)
    fa = sum(r.false_alarms for r in results)
    lines.append(
        f"NAB standard {normalised(results):.1f}  windows hit {hit}/{windows}  "
        f"false-alarm records {fa}  (threshold {THRESHOLD}, one parameter set)"
    )
    return "\n".join(lines)


def once_per_event(flags: Sequence[bool], calm: int = 6) -> list[float]:
    """1.0 where a run of flags starts after at least `calm` unflagged rows, else 0.0.

    The campaign detector alerts once per event; a baseline judged by NAB must too, or it
    pays a false positive for every flagged row after the first.

    >>> once_per_event([False, True, True, False, True, False, False, True], calm=2)
    [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """
    out, quiet = [], calm
    for flag in flags:
        out.append(1.0 if flag and quiet >= calm else 0.0)
        quiet = 0 if flag else quiet + 1
    return out


def half_space_trees(rows: Sequence[tuple[float, float]]) -> list[float]:
    """river's HalfSpaceTrees on the scaled count and hour of day, flagged above its own
    99.5th-percentile score (river's QuantileFilter, which keeps flagged rows out of the
    model), once per event: the library baseline the campaign detector must beat."""
    from river import anomaly, compose, preprocessing

    model = anomaly.QuantileFilter(
        compose.Pipeline(
            preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(n_trees=25, height=12, seed=7)
        ),
        q=0.995,
    )
    flags = []
    for ts, value in rows:
        x = {"count": value, "hour": (ts % 86_400) / 86_400}
        score = model.score_one(x)
        flags.append(bool(model.classify(score)))  # type: ignore[no-untyped-call]
        model.learn_one(x)  # type: ignore[no-untyped-call]
    return once_per_event(flags)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also score river's HalfSpaceTrees on the same files, for comparison",
    )
    args = parser.parse_args()
    if not (NAB_DATA / "windows.json").exists():
        print(f"nab: skipped, no data at {NAB_DATA}")
        return 0
    ours = run()
    print(report(ours))
    if args.baseline:
        theirs = run(scorer=half_space_trees)
        print(
            "river HalfSpaceTrees (scaled count + hour, 99.5th-percentile filter, once per event):"
        )
        print(report(theirs))
        ratio = normalised(ours) / normalised(theirs)
        print(f"ratio of NAB scores, ours / HalfSpaceTrees: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
