"""The engine's fast paths change no decision: every bucket of a long, mostly idle stream
gets the same `Decision` as the plain path gives it (issue 16's contract for speed work).

The plain path is written out here with nothing skipped: a full `Bucket` for every bucket,
empty ones too, counted post by post, its stats with the hour's crowd, then the detector,
one bucket after another. The engine closes empty buckets without building one, batches
its matching and decoding, and so on; the decisions must be equal to the last bit.
"""

from __future__ import annotations

import random

from detectors.campaign import Decision
from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import crowd, lines
from watcher.pipeline.buckets import Bucket, History
from watcher.pipeline.engine import Engine
from watcher.playbooks.model import Playbook, build_matcher
from watcher.post import post_from_json

HOUR = 3600.0


def stream(make_post: PostFactory) -> list[dict[str, object]]:
    """Four days: quiet nights with no posts at all, a 12-hour silence, a trickle of
    regulars on each term by day, and a crowd on day three."""
    rng = random.Random(16)
    texts = ["report on toxic waste", "the gag order again", "#dumpgate news", "toxic waste?"]
    posts = []
    for hour in range(4 * 24):
        if hour % 24 < 7 or 40 <= hour < 52:
            continue  # idle: not one post
        for _ in range(rng.randint(0, 6)):
            at = T0 + hour * HOUR + rng.uniform(0, HOUR)
            posts.append(make_post(at, rng.choice(texts), author=f"regular{rng.randint(0, 9)}"))
    return posts + crowd(make_post, T0 + 62 * HOUR, 300)


def plain_decisions(
    playbook: Playbook, posts: list[dict[str, object]]
) -> tuple[list[Decision], int]:
    """Each bucket's decision from first post to last, without any of the engine's paths,
    and how many of the buckets were empty."""
    engine = Engine([playbook])  # for its detector, as the engine builds it
    detector = engine.runtimes[0].detector
    width = engine.runtimes[0].width
    history = History(detector.window)
    matcher = build_matcher([playbook])
    buckets: dict[float, Bucket] = {}
    for raw in posts:
        post = post_from_json(raw)
        hits = matcher.match(post.text, post.lang)
        if hits and 0 in hits:
            start = post.timestamp - post.timestamp % width
            buckets.setdefault(start, Bucket(start)).add(post, hits[0], post.timestamp)
    decisions: list[Decision] = []
    start, last = min(buckets), max(buckets)
    while start <= last:
        bucket = buckets.get(start) or Bucket(start)
        decisions.append(detector.update(history.stats_with(bucket, detector.scores_terms)))
        history.push(bucket)
        start += width
    return decisions, len(decisions) - len(buckets)


def test_every_decision_of_an_idle_heavy_stream_is_the_plain_paths(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    posts = sorted(stream(make_post), key=lambda p: str(p["created_at"]))
    engine = Engine([mini_playbook])
    got: list[Decision] = []
    engine.on_bucket(lambda _, __, decision: got.append(decision))
    for i in range(0, len(posts), 97):  # batches that end mid-bucket
        engine.feed_lines(lines(posts[i : i + 97]))
    engine.flush()
    expected, empty = plain_decisions(mini_playbook, posts)
    assert empty > len(expected) / 2  # mostly idle
    assert got == expected  # the same floats, transitions and term scores, bucket by bucket
    assert any(d.transition == "new" for d in got)
