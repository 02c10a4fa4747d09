"""`groundswell simulate --scenario NAME --out FILE`: write a simulated posts stream."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from watcher.commands.common import check_output
from watcher.errors import GroundswellError
from watcher.simulation import corpus, generate, suite


class ScenarioError(GroundswellError):
    """`--scenario` names no scenario."""

    what = "scenario"


def scenario_names() -> list[str]:
    """Every scenario `--scenario` accepts: the stories, then the detection suite."""
    return [*corpus.SCENARIOS, *suite.SUITE]


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.list:
        for name, spec in corpus.SCENARIOS.items():
            print(f"{name:<30} {spec.description}")
        for name, case in suite.SUITE.items():
            print(f"{name:<30} suite: {case.kind}, {case.playbook or 'no playbook'}")
        return 0
    if args.scenario not in scenario_names():
        raise ScenarioError(
            f"{args.scenario!r} is not a scenario; choose one of {', '.join(scenario_names())} "
            "(`groundswell simulate --list` describes each)"
        )
    if args.out is None:
        print("simulate: --out FILE is required (or --list)", file=sys.stderr)
        return 2
    check_output(args.out)
    if args.scenario in suite.SUITE:
        count = suite.write_suite(args.scenario, args.out, seed=args.seed)
    else:
        count = generate.write(args.scenario, args.out, seed=args.seed)
    print(f"simulate: wrote {count:,} posts ({args.scenario}) to {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = sub.add_parser("simulate", help="write a simulated posts stream")
    simulate.add_argument(
        "--scenario",
        default="trafigura",
        metavar="NAME",
        help=f"scenario (trafigura): one of {', '.join(scenario_names())}; --list describes each",
    )
    simulate.add_argument("--out", type=Path, help="posts NDJSON to write")
    simulate.add_argument("--list", action="store_true", help="list the scenarios and exit")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (0)")
    simulate.set_defaults(func=cmd_simulate)
