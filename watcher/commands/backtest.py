"""`groundswell backtest PLAYBOOK --posts FILE`: what one playbook would have done on past posts."""

from __future__ import annotations

import argparse
from pathlib import Path

from responders.localtime import local_suffix
from watcher.commands.common import InputError, check_output, open_input, playbooks_or_exit


def _when(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _delay(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = round(abs(seconds) / 60)
    text = f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
    return f"{text} {'after' if seconds >= 0 else 'BEFORE'} onset"


def cmd_backtest(args: argparse.Namespace) -> int:
    from watcher.simulation.backtest import (
        run_backtest,  # the engine and plotting load only when used
    )

    if args.playbook.is_dir():
        raise InputError(
            f"{args.playbook}: is a folder; backtest takes one playbook file, such as "
            f"{args.playbook / 'toxic-waste.yaml'}"
        )
    if args.plot is not None and not args.no_plot:
        check_output(args.plot)  # before the replay, which can take a while
    [playbook] = playbooks_or_exit([args.playbook], strict=args.strict).playbooks
    plot = None if args.no_plot else args.plot or Path(f"{playbook.name}-backtest.png")
    with open_input(args.posts) as handle:
        result = run_backtest(playbook, handle, label=args.label)
    print(
        f"backtest: {playbook.name} over {args.posts.name}: {result.received:,} posts, "
        f"{result.matched:,} matched, {result.malformed:,} malformed, {result.late:,} late"
    )
    if result.onset is not None:
        print(f"onset: {_when(result.onset)} (first post labelled {result.label!r})")
    elif args.label:
        print(
            f"onset: no post is labelled {args.label!r}, so no alert is timed against an "
            "onset and none can be called missed"
        )
    if not result.alerts:
        print("alerts it would have fired: none")
    else:
        print(f"alerts it would have fired: {len(result.alerts)}")
        for alert in result.alerts:
            s = alert.surge
            print(
                f"  {_when(s.fired_at.timestamp())}{local_suffix(s.fired_at, alert.timezone)}"
                f"  {s.kind:<6} {s.state:<10} "
                f"score {s.score:5.1f}  posts {s.posts:5,}  authors {s.distinct_authors:5,}  "
                f"{_delay(result.delay(alert))}".rstrip()
            )
    if result.onset is not None and not any(
        a.surge.kind == "new" and (result.delay(a) or 0) >= 0 for a in result.alerts
    ):
        print("missed: no new alert at or after the onset")
    if plot is not None:
        from watcher.simulation.plot import plot_backtest

        plot_backtest(result, plot, title=f"{playbook.name} over {args.posts.name}")
        print(f"plot: wrote {plot}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backtest = sub.add_parser(
        "backtest", help="replay recorded posts through one playbook; list and plot its alerts"
    )
    backtest.add_argument("playbook", type=Path, metavar="PLAYBOOK", help="one playbook file")
    backtest.add_argument("--posts", type=Path, required=True, help="posts NDJSON to replay")
    backtest.add_argument(
        "--label", default="", help="time alerts from the first post with this label (any)"
    )
    backtest.add_argument(
        "--plot", type=Path, help="PNG to write (PLAYBOOK-NAME-backtest.png in this folder)"
    )
    backtest.add_argument("--no-plot", action="store_true", help="print the alerts only")
    backtest.add_argument(
        "--strict", action="store_true", help="refuse a playbook that has a warning too"
    )
    backtest.set_defaults(func=cmd_backtest)
