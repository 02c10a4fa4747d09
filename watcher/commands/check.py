"""`groundswell check PATH ...`: validate playbooks, one path:line:col message per problem.

Each message says `error:` (the playbook cannot run as written) or `warning:` (it runs, but
probably not as meant). The exit status is 1 when any playbook has an error, or, with
`--strict`, any warning: what `run`, `replay` and `backtest` would skip or refuse.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from watcher.playbooks.model import check_playbooks


def cmd_check(args: argparse.Namespace) -> int:
    checked = check_playbooks(args.paths)
    for problem in checked.problems:
        print(problem)
    if checked.errors:
        return 1
    if not checked.playbooks:
        print(f"no playbooks found in {', '.join(map(str, args.paths))}")
        return 1
    for playbook in checked.playbooks:
        print(f"ok: {playbook.name} ({len(playbook.watch.terms)} terms)")
    return 1 if args.strict and checked.warnings else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check",
        help="validate playbooks; path:line:col: error|warning: … per problem",
        description="Validate playbooks. Exit 1 when a playbook has an error (it cannot "
        "run); warnings (it runs, probably not as meant) are printed too.",
    )
    check.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    check.add_argument(
        "--strict", action="store_true", help="exit 1 on warnings too (for CI, pre-commit)"
    )
    check.set_defaults(func=cmd_check)
