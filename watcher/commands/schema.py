"""`groundswell schema`: regenerate the playbook JSON Schema that editors use, and with
`--readme FILE` the key reference in that README."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from watcher.commands.common import DEFAULT_PLAYBOOKS, check_output
from watcher.playbooks.model import Playbook
from watcher.playbooks.reference import KeyTableError, with_reference

SCHEMA_PATH = DEFAULT_PLAYBOOKS / "schema.json"


def playbook_schema() -> bytes:
    """The JSON Schema of a playbook, generated from the pydantic models."""
    schema = Playbook.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Groundswell playbook"
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def cmd_schema(args: argparse.Namespace) -> int:
    check_output(args.out).write_bytes(playbook_schema())
    print(f"schema: wrote {args.out}", file=sys.stderr)
    if args.readme is not None:
        try:
            text = args.readme.read_text(encoding="utf-8")
            args.readme.write_text(with_reference(text, Playbook.model_json_schema()), "utf-8")
        except (OSError, KeyTableError) as exc:
            print(f"groundswell: schema: {args.readme}: {exc}", file=sys.stderr)
            return 2
        print(f"schema: rewrote the playbook keys in {args.readme}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schema = sub.add_parser("schema", help="regenerate the playbook JSON Schema for editors")
    schema.add_argument("--out", type=Path, default=SCHEMA_PATH, help=f"({SCHEMA_PATH})")
    schema.add_argument(
        "--readme",
        type=Path,
        metavar="FILE",
        help="also rewrite the playbook key table in FILE (README.md), between its markers",
    )
    schema.set_defaults(func=cmd_schema)
