"""`groundswell silence add|list|expire`: silences in the manner of Alertmanager's amtool.

A silence keeps a playbook's alerts (or those with one of its terms) from being delivered
until it ends; they are still detected and recorded in the history. The Slack Snooze button
makes the same kind of silence.

    groundswell silence add --playbook waste --for 6h --reason "launch at 14:00" --by rosa
    groundswell silence list
    groundswell silence expire 3f9c2a1b
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from responders.delivery.records import SilenceRequest
from watcher.commands.alerts import default_by, print_json, table, when
from watcher.commands.records import RecordsError, add_store_flags, open_store
from watcher.playbooks.model import check_playbooks
from watcher.settings import DEFAULT_PLAYBOOKS


def _line(s: dict[str, Any]) -> tuple[str, ...]:
    return (
        s["id"],
        s["playbook"],
        s["term"] or "(all)",
        s["state"],
        when(s["starts_at"]),
        when(s["ends_at"]),
        s["created_by"],
        s["reason"],
    )


def cmd_add(args: argparse.Namespace) -> int:
    until = None
    if args.until:
        try:
            until = datetime.fromisoformat(args.until)
        except ValueError:
            raise RecordsError(f"--until {args.until!r} is not an ISO time") from None
        if until.tzinfo is None:
            raise RecordsError(f"--until {args.until!r} needs a zone, e.g. Z or +01:00")
    if not args.url:  # a running service refuses an unknown name itself; a file cannot know
        warn_if_unknown(args.playbook, args.playbooks)
    with open_store(args) as store:  # which also turns a bad value into one line
        request = SilenceRequest(
            playbook=args.playbook,
            term=args.term or "",
            duration=args.duration,
            ends_at=until,
            reason=args.reason,
            created_by=args.by,
        )
        made = store.add_silence(request)
    if args.json:
        print_json(made)
    else:
        print(made["id"])
    return 0


def warn_if_unknown(playbook: str, folder: Path) -> None:
    """Say so when no playbook in `folder` has this name: a silence on a misspelt name is
    stored, and silences nothing."""
    if not folder.exists():
        return
    names = sorted(pb.name for pb in check_playbooks([folder]).playbooks)
    if playbook not in names:
        print(
            f"groundswell: warning: no playbook named {playbook!r} in {folder} (there: "
            f"{', '.join(names) or 'none'}); the silence is stored, and applies only to a "
            "playbook of exactly that name",
            file=sys.stderr,
        )


def cmd_list(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        found = store.silences(expired=args.expired)
    if args.json:
        print_json(found)
    elif not found:
        print("no silences" if args.expired else "no active or pending silences")
    else:
        head = ("ID", "PLAYBOOK", "TERM", "STATE", "STARTS", "ENDS", "BY", "REASON")
        print(table([head, *map(_line, found)]))
    return 0


def cmd_expire(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        for silence_id in args.ids:
            gone = store.expire(silence_id)
            print(f"{gone['id']}: expired at {when(gone['ends_at'])}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    silence = sub.add_parser("silence", help="silences: add, list, expire (as amtool)")
    verbs = silence.add_subparsers(dest="verb", required=True, metavar="VERB")

    add = verbs.add_parser("add", help="silence a playbook (or one of its terms) for a while")
    add.add_argument("--playbook", required=True, metavar="P")
    add.add_argument("--term", metavar="T", help="only the playbook's alerts with this term")
    end = add.add_mutually_exclusive_group(required=True)
    end.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 90m, 6h, 2d")
    end.add_argument("--until", metavar="TIME", help="ISO time with a zone, e.g. 2026-12-04T09:00Z")
    add.add_argument("--reason", required=True, help="why, for the record")
    add.add_argument("--by", default=default_by(), metavar="NAME", help="who (you)")
    add.add_argument("--json", action="store_true", help="print the silence as JSON")
    add.add_argument(
        "--playbooks",
        type=Path,
        default=DEFAULT_PLAYBOOKS,
        metavar="DIR",
        help="where the playbooks are, to warn of a name none has (default: %(default)s)",
    )
    add_store_flags(add)
    add.set_defaults(func=cmd_add)

    listing = verbs.add_parser("list", help="active and pending silences")
    listing.add_argument("--expired", action="store_true", help="the ended ones too")
    listing.add_argument("--json", action="store_true", help="print JSON, as the API answers")
    add_store_flags(listing)
    listing.set_defaults(func=cmd_list)

    expire = verbs.add_parser("expire", help="end silences now")
    expire.add_argument("ids", nargs="+", metavar="ID")
    add_store_flags(expire)
    expire.set_defaults(func=cmd_expire)
