"""`groundswell check PATH ...`: validate playbooks, one path:line:col message per problem."""

from __future__ import annotations

import argparse
from pathlib import Path

from watcher.playbooks.model import PlaybookError, load_playbooks


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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="validate playbooks; path:line:col per problem")
    check.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    check.set_defaults(func=cmd_check)
