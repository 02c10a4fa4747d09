"""`groundswell simulate --scenario NAME --out FILE`: write a simulated posts stream."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_simulate(args: argparse.Namespace) -> int:
    from watcher.simulation import corpus, generate, suite  # keeps CLI start-up light

    if args.list:
        for name, spec in corpus.SCENARIOS.items():
            print(f"{name:<30} {spec.description}")
        for name, case in suite.SUITE.items():
            print(f"{name:<30} suite: {case.kind}, {case.playbook or 'no playbook'}")
        return 0
    if args.out is None:
        print("simulate: --out FILE is required (or --list)", file=sys.stderr)
        return 2
    if args.scenario in suite.SUITE:
        count = suite.write_suite(args.scenario, args.out, seed=args.seed)
    else:
        count = generate.write(args.scenario, args.out, seed=args.seed)
    print(f"simulate: wrote {count:,} posts ({args.scenario}) to {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = sub.add_parser("simulate", help="write a simulated posts stream")
    simulate.add_argument(
        "--scenario", default="trafigura", help="scenario name (trafigura); --list shows all"
    )
    simulate.add_argument("--out", type=Path, help="posts NDJSON to write")
    simulate.add_argument("--list", action="store_true", help="list the scenarios and exit")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (0)")
    simulate.set_defaults(func=cmd_simulate)
