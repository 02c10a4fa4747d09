"""Crowd statistics: the rolling hour against a batch recount, and the sketch past the bound."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from tests.conftest import T0, PostFactory
from watcher.pipeline import crowd
from watcher.pipeline.buckets import Bucket, History
from watcher.pipeline.crowd import AuthorWindow
from watcher.post import post_from_json


def batch_entropy(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return -sum(n / total * math.log(n / total) for n in counts.values())


@pytest.mark.parametrize("seed", range(5))
def test_rolling_hour_matches_a_recount(seed: int) -> None:
    rng = random.Random(seed)
    window = AuthorWindow(size=11)
    buckets: list[Counter[str]] = []
    for _ in range(400):  # past RESUM_EVERY, so drift correction runs too
        bucket = Counter(f"a{rng.randint(0, 60)}" for _ in range(rng.randint(0, 30)))
        recount = Counter[str]()
        for past in buckets[-11:]:
            recount.update(past)
        recount.update(bucket)
        got = window.with_bucket(bucket, sum(bucket.values()))
        total = sum(recount.values())
        assert got.posts == total
        assert got.distinct == len(recount)
        if total:
            assert got.top_share == pytest.approx(max(recount.values()) / total)
            assert got.effective == pytest.approx(math.exp(batch_entropy(recount)), rel=1e-9)
        window.push(bucket, sum(bucket.values()))
        buckets.append(bucket)


def test_effective_authors_tell_a_ring_from_a_crowd() -> None:
    ring = Counter({f"bot{n}": 20 for n in range(15)})
    people = Counter({f"p{n}": 1 + n % 2 for n in range(200)})
    assert crowd.effective_authors(300, sum(c * math.log(c) for c in ring.values())) == (
        pytest.approx(15.0)
    )
    voices = crowd.effective_authors(300, sum(c * math.log(c) for c in people.values()))
    assert 300 / voices < 2.0 < 300 / 15.0


def test_authors_past_the_bound_are_sketched(
    make_post: PostFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("watcher.pipeline.buckets.MAX_EXACT_AUTHORS", 100)
    monkeypatch.setattr("watcher.pipeline.crowd.MAX_EXACT_AUTHORS", 100)
    bucket = Bucket(T0)
    for n in range(3_000):
        post = post_from_json(make_post(T0 + 1, "toxic waste", author=f"user{n % 2_500}"))
        bucket.add(post, [0], T0 + 1)
    assert len(bucket.authors) == 100  # exact counts stop at the bound
    assert bucket.posts == 3_000
    assert abs(bucket.distinct_authors - 2_500) < 2_500 * 3 * crowd.SKETCH_ERROR
    history = History(window=12)
    history.push(bucket)
    stats = history.stats_with(Bucket(T0 + 300))
    assert abs(stats.hour_authors - 2_500) < 2_500 * 3 * crowd.SKETCH_ERROR
