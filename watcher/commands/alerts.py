"""`groundswell alerts list|show|ack|not-campaign`: the alert history, and what people said.

`list` shows campaigns newest first (`--playbook`, `--since 7d`, `--state`, `--json`); `show`
prints one campaign's brief as it was sent and everything that happened after: alerts,
deliveries, acknowledgements. `ack` and `not-campaign` do what the Slack buttons do; a
"not a campaign" makes that playbook's detector stricter once the service reads it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from responders.delivery.records import FeedbackRequest
from watcher.commands.records import add_store_flags, open_store
from watcher.http.openapi import STATES, known_states


def when(value: str) -> str:
    """An RFC 3339 time from the records, to the minute: `2026-12-03 10:12 UTC`."""
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


def print_json(value: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, the last one left ragged."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _delivered(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "-"


def cmd_list(args: argparse.Namespace) -> int:
    query: dict[str, Any] = {"limit": args.limit}
    if args.since:
        query["since"] = args.since
    if args.playbook:
        query["playbook"] = args.playbook
    with open_store(args) as store:
        states = known_states([s for given in args.state for s in given.split(",") if s])
        if states:
            query["states"] = states
        found = store.alerts(query)
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no campaigns recorded" + (" matching" if len(query) > 1 else ""))
        return 0
    rows = [("CAMPAIGN", "PLAYBOOK", "STATE", "ALERTS", "POSTS", "LAST ALERT", "DELIVERY", "ACK")]
    rows += [
        (
            c["campaign_id"],
            c["playbook"],
            c["state"] + (" (not a campaign)" if c["not_campaign_by"] else ""),
            str(c["alerts"]),
            str(c["posts"]),
            when(c["last_recorded_at"]),
            _delivered(c["deliveries"]),
            ", ".join(c["acknowledged_by"]) or "-",
        )
        for c in found
    ]
    print(table(rows))
    return 0


def _event(event: Mapping[str, Any]) -> str:
    what = event["what"]
    if what == "alert":
        detail = f"{event['kind']} alert, {event['state']}, {event['posts']} posts"
        detail += f" (event time {when(event['fired_at'])})"
    elif what == "delivery":
        tries = event["attempts"]  # none: a stage (a silence) held it back before sending
        detail = f"{event['responder']}: {event['status']} ({event['kind']}"
        detail += f", {tries} attempt{'' if tries == 1 else 's'})" if tries else ")"
        if event.get("error"):
            detail += f": {event['error']}"
    else:
        detail = {"ack": "acknowledged", "not_campaign": "marked not a campaign"}.get(what, what)
        detail += f" by {event['by']}"
    pending = what == "delivery" and event["status"] == "pending"
    return f"  {'(waiting)'.ljust(20) if pending else when(event['at'])}  {detail}"


def cmd_show(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        told = store.alert(args.campaign_id)
    if args.json:
        print_json(told)
        return 0
    print(
        f"{told['campaign_id']} ({told['playbook']}): {told['state']}, {told['alerts']} alerts, "
        f"{told['posts']} posts, event time {when(told['first_fired_at'])} to "
        f"{when(told['last_fired_at'])}"
    )
    for label, key in (
        ("acknowledged by", "acknowledged_by"),
        ("not a campaign", "not_campaign_by"),
    ):
        if told[key]:
            print(f"  {label}: {', '.join(told[key])}")
    sent = told["deliveries"].get("sent", 0)
    print("\nThe brief as sent:" if sent else "\nThe brief (not delivered anywhere):")
    print(told["brief"])
    print("\nWhat happened:")
    for event in told["history"]:
        print(_event(event))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        request = FeedbackRequest(action=args.action, by=args.by)
        told = store.feedback(args.campaign_id, request)
    said = "acknowledged" if args.action == "ack" else "marked not a campaign"
    print(f"{told['campaign_id']}: {said} by {args.by}")
    return 0


def default_by() -> str:
    """Who is at the keyboard, for `--by`."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "cli"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alerts = sub.add_parser("alerts", help="the alert history: list, show, ack, not-campaign")
    verbs = alerts.add_subparsers(dest="verb", required=True, metavar="VERB")

    listing = verbs.add_parser("list", help="campaigns, latest activity first")
    listing.add_argument("--playbook", metavar="P", help="only this playbook's")
    listing.add_argument(
        "--since", metavar="AGE", help="only those with an alert in the last AGE (e.g. 7d, 12h)"
    )
    listing.add_argument(
        "--state",
        action="append",
        default=[],
        metavar="STATE",
        help=f"only those whose latest state is this ({', '.join(STATES)}); repeat or "
        "separate with commas",
    )
    listing.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    listing.add_argument("--json", action="store_true", help="print JSON, as the API answers")
    add_store_flags(listing)
    listing.set_defaults(func=cmd_list)

    show = verbs.add_parser("show", help="one campaign: the brief as sent, and what happened")
    show.add_argument("campaign_id", metavar="CAMPAIGN_ID")
    show.add_argument("--json", action="store_true", help="print JSON, as the API answers")
    add_store_flags(show)
    show.set_defaults(func=cmd_show)

    for verb, action, what in (
        ("ack", "ack", "acknowledge a campaign (as the Slack button)"),
        ("not-campaign", "not_campaign", "mark a campaign a false alarm (as the Slack button)"),
    ):
        said = verbs.add_parser(verb, help=what)
        said.add_argument("campaign_id", metavar="CAMPAIGN_ID")
        said.add_argument("--by", default=default_by(), metavar="NAME", help="who (you)")
        add_store_flags(said)
        said.set_defaults(func=cmd_feedback, action=action)
