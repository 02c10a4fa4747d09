"""Throughput of the feed parsers and of cross-source dedup, in posts per second.

    PYTHONPATH=. .venv/bin/python bench/sources_parse.py [N]

Jetstream peaks at over a thousand events/s (all collections) during big news; the parsers
should be far from being the bottleneck.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from tests.conftest import T0
from tests.watcher.sources.fake_mastodon import mastodon_status
from tests.watcher.sources.fakes import jetstream_post, reddit_child
from watcher.pipeline.dedup import Dedup
from watcher.post import Post
from watcher.sources.jetstream import parse_event
from watcher.sources.mastodon_wire import parse_status
from watcher.sources.reddit import parse_child

NOW = T0 + 86400


def rate(label: str, items: Sequence[Any], parse: Callable[[Any], object]) -> None:
    start = time.perf_counter()
    for item in items:
        parse(item)
    elapsed = time.perf_counter() - start
    print(
        f"{label:<28} {len(items) / elapsed:>12,.0f} posts/s  ({len(items):,} in {elapsed:.2f} s)"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    frames = [orjson.dumps(jetstream_post(i)) for i in range(n)]
    rate("jetstream frame → Post", frames, lambda f: parse_event(f, NOW))
    statuses = [orjson.dumps(mastodon_status(i)) for i in range(n)]
    rate(
        "mastodon SSE data → Post",
        statuses,
        lambda s: parse_status(orjson.loads(s), "social.example", NOW),
    )
    children = [reddit_child(i) for i in range(n)]
    rate("reddit child → Post", children, lambda c: parse_child(c, NOW))
    when = datetime.fromtimestamp(T0, tz=UTC)
    posts = [
        Post(f"id{i % (n // 2)}", f"a{i % 97}", "t", when, url=f"https://x/{i}") for i in range(n)
    ]
    dedup = Dedup()
    batches = [posts[i : i + 500] for i in range(0, n, 500)]
    start = time.perf_counter()
    kept = sum(len(dedup.fresh(b)) for b in batches)
    elapsed = time.perf_counter() - start
    print(f"{'dedup (batches of 500)':<28} {n / elapsed:>12,.0f} posts/s  ({kept:,} of {n:,} kept)")


if __name__ == "__main__":
    main()
