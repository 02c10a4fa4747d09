"""The backtest picture: volume against baseline, distinct authors and score, alerts marked.

Drawn on a bare `Figure` with the Agg canvas, so no display and no pyplot global state. The
bottom axis is event time in UTC; a playbook that names its time zone (`respond.timezone`) also
gets local time along the top.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from responders.localtime import zone
from watcher.simulation.backtest import Backtest

_NEW, _UPDATE, _ONSET = "#d62728", "#ff7f0e", "#444444"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def plot_backtest(result: Backtest, out: Path, *, title: str = "") -> None:
    """Write a PNG of `result` to `out`: three panels sharing one event-time axis."""
    pb = result.playbook
    thresholds = pb.detect.thresholds
    times = [_utc(b.start) for b in result.buckets]
    fig = Figure(figsize=(13, 9), layout="constrained")
    volume, authors, score = fig.subplots(3, 1, sharex=True)
    width = pb.detect.bucket_minutes
    volume.step(times, [b.posts for b in result.buckets], where="post", color="#1f77b4",
                label=f"matched posts per {width} min")  # fmt: skip
    volume.plot(times, [b.baseline for b in result.buckets], color="#2ca02c", lw=2,
                label="baseline (what is normal)")  # fmt: skip
    volume.set_ylabel("posts")
    authors.step(times, [b.authors for b in result.buckets], where="post", color="#9467bd",
                 label="distinct authors")  # fmt: skip
    authors.axhline(thresholds.min_authors, color="#9467bd", ls=":", lw=1,
                    label=f"needed to alert ({thresholds.min_authors})")  # fmt: skip
    authors.set_ylabel("authors")
    score.plot(times, [b.score for b in result.buckets], color="#8c564b", label="score")
    score.axhline(thresholds.significance, color="#8c564b", ls=":", lw=1,
                  label=f"alert threshold ({thresholds.significance:g}, "
                  f"sensitivity {pb.detect.sensitivity})")  # fmt: skip
    score.set_ylabel("score (σ above baseline)")
    score.set_xlabel("event time (UTC)")
    marked: set[str] = set()
    for alert in result.alerts:
        new = alert.surge.kind == "new"
        name = "new alert" if new else f"update ({alert.surge.state})"
        key = "new" if new else "update"
        for axis in (volume, authors, score):
            axis.axvline(alert.surge.fired_at, color=_NEW if new else _UPDATE,
                         lw=2 if new else 1, alpha=0.9 if new else 0.6,
                         label=None if key in marked or axis is not volume else
                         ("alert fired" if new else "alert update"))  # fmt: skip
        marked.add(key)
        if new:
            volume.annotate(name, (alert.surge.fired_at, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(4, -14), textcoords="offset points", color=_NEW)  # fmt: skip
    if result.buckets:  # the detector cannot alert while it learns its first baseline
        first = result.buckets[0].start
        warm = (_utc(first), _utc(first + pb.detect.warmup_hours * 3600))
        label = "warm-up: learning the baseline"
        for axis in (volume, authors, score):
            axis.axvspan(*warm, color="#999999", alpha=0.15, lw=0,
                         label=label if axis is volume else None)  # fmt: skip
    if result.onset is not None:
        for axis in (volume, authors, score):
            axis.axvline(_utc(result.onset), color=_ONSET, ls="--", lw=1.5,
                         label=f"onset ({result.label})" if axis is volume else None)  # fmt: skip
    for axis in (volume, authors, score):
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left", fontsize=9)
        axis.set_ylim(bottom=0)
    # matplotlib's stubs leave these two constructors unannotated.
    locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    score.xaxis.set_major_locator(locator)
    score.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    if pb.respond.timezone:  # local time along the top, UTC along the bottom
        local = zone(pb.respond.timezone)
        top = volume.secondary_xaxis("top")
        local_locator = AutoDateLocator(tz=local)  # type: ignore[no-untyped-call]
        top.xaxis.set_major_locator(local_locator)
        top.xaxis.set_major_formatter(ConciseDateFormatter(local_locator, tz=local))  # type: ignore[no-untyped-call]
        top.set_xlabel(f"local time ({pb.respond.timezone})")
    fig.suptitle(title or f"Backtest of playbook {pb.name!r}", fontsize=14)
    fig.savefig(out, dpi=100)
