"""What a cluster playbook reload costs at 1,000 playbooks, in CPU time:
`python -m bench.reload_cost [--playbooks 1000] [--posts 50000]`.

One worker's group holding all 8 shards runs `--playbooks` synthetic playbooks (the cluster
bench's, 50 terms each) over `--posts` posts, then a reload of a set in which one playbook's
`detect` changed (999 kept, one reset) is applied (`ShardGroup.reload`). Printed: the
publisher's local work (read and check the files, encode the set, its digest), a worker's
work at the message (decode and validate the fetched set, swap it in), and the digest a
worker computes of its own set at start. The Object Store round trips are not included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.firehose import write_playbooks, write_posts
from watcher.cluster.reloads import decode_set, encode_set, set_digest
from watcher.cluster.shards import ShardGroup, by_shard
from watcher.pipeline.decode import decode_lines
from watcher.playbooks.model import check_texts, playbook_texts

T = TypeVar("T")
SHARDS = 8


def cpu(work: Callable[[], T]) -> tuple[T, float]:
    started = time.process_time()
    out = work()
    return out, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--playbooks", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--terms", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        groups = write_playbooks(work / "before", args.playbooks, args.terms)
        write_posts(work / "posts.ndjson", args.posts, groups)
        after = work / "after"
        after.mkdir()
        for path in sorted((work / "before").glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if path.name == "pb0000.yaml":
                text += "detect:\n  sensitivity: high\n"
            (after / path.name).write_text(text, encoding="utf-8")
        before = check_texts(playbook_texts([work / "before"])).playbooks
        group = ShardGroup(dict(enumerate(by_shard(before, SHARDS))), before, set_digest(before))
        lines = (work / "posts.ndjson").read_bytes().splitlines(keepends=True)
        for seq, start in enumerate(range(0, len(lines), 500), 1):
            batch = decode_lines(lines[start : start + 500], own=group.engine.own_handles)
            group.feed(seq, batch)

        checked, check_s = cpu(lambda: check_texts(playbook_texts([after])))
        data, encode_s = cpu(lambda: encode_set(checked.playbooks))
        digest, digest_s = cpu(lambda: set_digest(checked.playbooks))
        fetched, decode_s = cpu(lambda: decode_set(data))
        outcome, apply_s = cpu(lambda: group.reload(group.seq + 1, digest, fetched, SHARDS))
        _, own_s = cpu(lambda: set_digest(before))
    kinds: dict[str, int] = {}
    for what in outcome.values():
        kinds[what] = kinds.get(what, 0) + 1
    print(f"{args.playbooks} playbooks x {args.terms} terms, {args.posts:,} posts fed first")
    print(f"set: {len(data) / 1e6:.2f} MB encoded; reload outcome {sorted(kinds.items())}")
    print(f"publisher: check {check_s:.3f} s, encode {encode_s:.3f} s, digest {digest_s:.3f} s CPU")
    print(f"worker at the message: decode+validate {decode_s:.3f} s, swap in {apply_s:.3f} s CPU")
    print(f"worker at start: digest of its own set {own_s:.3f} s CPU")


if __name__ == "__main__":
    main()
