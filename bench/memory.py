"""Memory stays flat: 10M posts from 1M distinct authors over 100 playbooks, in process.

    python bench/memory.py                    # prints RSS at 1M, 5M and 10M posts

Posts are generated on the fly (no 2 GB file) and fed to the engine in batches, as replay
does. After warm-up the resident set should not grow with the stream's length.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, rss_mb
from bench.firehose import posts, write_playbooks
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import load_playbooks

BATCH = 4096


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument("--playbooks", type=int, default=100)
    parser.add_argument("--authors", type=int, default=1_000_000)
    args = parser.parse_args()
    checkpoints = {args.posts // 10, args.posts // 2, args.posts}
    with tempfile.TemporaryDirectory(prefix="gs-mem-") as tmp:
        groups = write_playbooks(Path(tmp), args.playbooks, 50)
        engine = Engine(load_playbooks([Path(tmp)]))
    print(f"start: RSS {rss_mb():.0f} MB", flush=True)
    figures: dict[str, float] = {}
    stream = posts(args.posts, groups, authors=args.authors, span_s=7 * 86400)
    started = time.perf_counter()
    done = 0
    while batch := list(itertools.islice(stream, BATCH)):
        engine.feed_lines(batch)
        engine.drain_alerts()
        before = done
        done += len(batch)
        for mark in sorted(checkpoints):
            if before < mark <= done:
                rss = rss_mb()
                figures[f"rss_mb_at_{mark}"] = round(rss, 1)
                print(
                    f"{mark:>12,} posts: RSS {rss:6.0f} MB  "
                    f"({done / (time.perf_counter() - started):,.0f} posts/s incl. generation)",
                    flush=True,
                )
    record(
        "memory",
        {"posts": args.posts, "playbooks": args.playbooks, "authors": args.authors, **figures},
    )


if __name__ == "__main__":
    main()
