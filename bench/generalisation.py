"""NAB figures that say whether detection holds on data it was not tuned on.

* leave-one-out over the development realTweets files: for each file, the sensitivity
  level (the only knob `score-series` exposes) is chosen on the other four by their NAB
  score, then the held-out file is scored at that level; the mean of the held-out folds
  is printed beside the all-in score at the default level;
* spike injection: heavy-tailed one-bucket spikes (about one per 12 h, 3–50× the series
  median, Pareto tail, fixed seed) outside the labelled windows of the same files;
* checks on other families: `artificialNoAnomaly` (every alarm is false) and
  `realKnownCause/nyc_taxi` (windows hit).

Every figure is at the fixed NAB threshold 0.5 (`bench.nab`).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import get_args

from bench import nab
from detectors.params import Sensitivity
from detectors.series import score_series

LEVELS: tuple[Sensitivity, ...] = get_args(Sensitivity)
DEFAULT: Sensitivity = "medium"
#: Spikes: one per this many rows on average (12 h of 5-minute rows).
SPIKE_EVERY = 144
SPIKE_MIN, SPIKE_MAX = 3.0, 50.0

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _labels(data: Path) -> dict[str, list[list[str]]]:
    labels: dict[str, list[list[str]]] = json.loads((data / "windows.json").read_text())
    return labels


def score_files(
    family: str,
    sensitivity: Sensitivity,
    data: Path = nab.NAB_DATA,
    transform: Callable[[str, list[tuple[float, float]], list[tuple[int, int]]], None]
    | None = None,
) -> list[nab.FileScore]:
    """NAB scores of a family's files at one level; `transform` may edit rows in place."""
    results = []
    for name, spans in sorted(_labels(data).items()):
        if Path(name).parts[0] != family:
            continue
        stamps, rows = nab.read_series(data / name)
        windows = nab.window_rows(stamps, [(a, b) for a, b in spans])
        if transform is not None:
            transform(Path(name).stem, rows, windows)
        detected = [s >= nab.THRESHOLD for s in score_series(rows, sensitivity)]
        results.append(nab.score_file(Path(name).stem, detected, windows))
    return results


def inject_spikes(
    name: str, rows: list[tuple[float, float]], windows: list[tuple[int, int]]
) -> None:
    """One-bucket spikes outside the windows: ~1 per SPIKE_EVERY rows, Pareto(1) × 3, ≤ 50×."""
    rng = random.Random(f"spikes:{name}")
    median = statistics.median(v for _, v in rows) or 1.0
    for i, (ts, value) in enumerate(rows):
        if rng.random() >= 1 / SPIKE_EVERY or any(lo <= i <= hi for lo, hi in windows):
            continue
        multiple = min(SPIKE_MAX, SPIKE_MIN / (1.0 - rng.random()))
        rows[i] = (ts, max(value, multiple * median))


def leave_one_out(by_level: dict[Sensitivity, list[nab.FileScore]]) -> list[str]:
    """Choose the level on four files, score the fifth; rotate. Ties keep the default."""
    names = [s.name for s in by_level[DEFAULT]]
    held: list[nab.FileScore] = []
    lines = []
    for k, name in enumerate(names):

        def train(level: Sensitivity, k: int = k) -> tuple[float, bool]:
            rest = [s for i, s in enumerate(by_level[level]) if i != k]
            return round(nab.normalised(rest), 6), level == DEFAULT

        chosen = max(LEVELS, key=train)
        score = by_level[chosen][k]
        held.append(score)
        lines.append(
            f"  fold {name:<22} chosen {chosen:<6} (train {train(chosen)[0]:5.1f})  held-out "
            f"{nab.normalised([score]):5.1f}  windows {score.hit}/{score.windows}  "
            f"false alarms {score.false_alarms}"
        )
    mean = statistics.mean(nab.normalised([s]) for s in held)
    lines.insert(
        0,
        f"NAB realTweets leave-one-out: held-out mean {mean:.1f}, pooled "
        f"{nab.normalised(held):.1f}  (all-in at {DEFAULT}: "
        f"{nab.normalised(by_level[DEFAULT]):.1f})",
    )
    return lines


def report(progress: Progress = _stderr) -> list[str]:
    """Every NAB figure, or one line saying the data is absent."""
    if not (nab.NAB_DATA / "windows.json").exists():
        return [f"NAB: skipped, no data at {nab.NAB_DATA}"]
    by_level: dict[Sensitivity, list[nab.FileScore]] = {}
    for level in LEVELS:
        progress(f"nab: realTweets at {level}")
        by_level[level] = score_files("realTweets", level)
    lines = [f"NAB realTweets all-in at {DEFAULT} (development files):"]
    lines += ["  " + line for line in nab.report(by_level[DEFAULT]).splitlines()]
    lines += leave_one_out(by_level)
    progress("nab: spike injection")
    spiked = score_files("realTweets", DEFAULT, transform=inject_spikes)
    lines.append(
        f"NAB realTweets with injected spikes at {DEFAULT}: {nab.normalised(spiked):.1f}  "
        f"windows {sum(s.hit for s in spiked)}/{sum(s.windows for s in spiked)}  "
        f"false-alarm records {sum(s.false_alarms for s in spiked)}"
    )
    progress("nab: other families")
    quiet = score_files("artificialNoAnomaly", DEFAULT)
    lines.append(
        "artificialNoAnomaly alarms (all false): "
        + ", ".join(f"{s.name} {s.false_alarms}" for s in quiet)
    )
    for s in score_files("realKnownCause", DEFAULT):
        lines.append(
            f"realKnownCause {s.name}: windows {s.hit}/{s.windows}, false alarms "
            f"{s.false_alarms}, NAB {nab.normalised([s]):.1f}"
        )
    return lines


def score_all(levels: Sequence[Sensitivity] = LEVELS) -> dict[Sensitivity, float]:
    """All-in realTweets score per level (for quick comparisons while developing)."""
    return {level: nab.normalised(score_files("realTweets", level)) for level in levels}
