"""`groundswell publish-playbooks`: reload the cluster's playbooks at one point of the
posts stream (`watcher.cluster.reloads`).

The files are checked as `groundswell check` checks them, each read once, so what is checked
is what is published; any error is printed as `path:line:col: error: message` and nothing is
published (exit 1), and the broker is not even contacted.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from nats.aio.client import Client
from nats.js import JetStreamContext

from watcher.cluster.layout import Layout, Stores
from watcher.commands.cluster import common_args, with_cluster

__all__ = ["register"]


def cmd_publish_playbooks(args: argparse.Namespace) -> int:
    """Check the files as `groundswell check` does (each read once: what is checked is what
    is published); any error publishes nothing and exits 1. Then the set goes into the
    Object Store and its reload into the posts stream (`watcher.cluster.reloads`)."""
    from watcher.playbooks.model import check_texts, playbook_texts

    checked = check_texts(playbook_texts(args.playbooks))
    for problem in checked.problems:
        print(problem)
    if checked.errors:
        print("publish-playbooks: nothing published; fix the errors and run again")
        return 1
    if not checked.playbooks:
        print(f"no playbooks found in {', '.join(map(str, args.playbooks))}")
        return 1
    if args.strict and checked.warnings:
        print("publish-playbooks: --strict: nothing published while there are warnings")
        return 1

    async def work(nc: Client, js: JetStreamContext, layout: Layout, stores: Stores) -> int:
        from watcher.cluster.reloads import publish_set

        done = await publish_set(js, layout, stores, checked.playbooks)
        digest, n = done.reload.digest, done.reload.n
        what = (
            "already in force (sent again: workers change nothing)"
            if done.already
            else "published: every worker swaps it in at this point of the stream"
        )
        count = len(checked.playbooks)
        print(f"publish-playbooks: {count} playbooks, set {digest} (reload {n}) {what}")
        return 0

    return asyncio.run(with_cluster(args, "publish", work))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    publish = sub.add_parser(
        "publish-playbooks",
        help="reload the cluster's playbooks at one point of the posts stream",
        description="Check the playbooks as `groundswell check` does and, if none has an "
        "error, store the set in the cluster's object store and publish its reload into the "
        "posts stream: every worker swaps it in at that point of the stream. Any error: "
        "each is printed as path:line:col, nothing is published, exit 1.",
    )
    common_args(publish)
    publish.add_argument(
        "--playbooks",
        type=Path,
        nargs="+",
        required=True,
        metavar="DIR",
        help="playbook files or folders: the whole new set (a playbook left out is removed)",
    )
    publish.add_argument("--strict", action="store_true", help="publish nothing on warnings either")
    publish.set_defaults(func=cmd_publish_playbooks)
