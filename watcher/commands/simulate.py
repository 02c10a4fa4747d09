"""`groundswell simulate --scenario NAME --out FILE`: write a simulated posts stream."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_simulate(args: argparse.Namespace) -> int:
    from watcher import simulate  # keeps CLI start-up light

    count = simulate.write(args.scenario, args.out, seed=args.seed)
    print(f"simulate: wrote {count:,} posts ({args.scenario}) to {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = sub.add_parser("simulate", help="write a simulated posts stream")
    simulate.add_argument("--scenario", default="trafigura", help="scenario name (trafigura)")
    simulate.add_argument("--out", type=Path, required=True, help="posts NDJSON to write")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (0)")
    simulate.set_defaults(func=cmd_simulate)
