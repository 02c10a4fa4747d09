"""Event-time windows (`watcher.pipeline.windows`): which bucket a post joins, when it closes."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime

from tests.conftest import T0
from watcher.pipeline.windows import Windows
from watcher.post import Post


def post(ts: float, author: str = "a") -> Post:
    return Post("1", author, "toxic waste", datetime.fromtimestamp(ts, tz=UTC))


def test_nothing_closes_before_the_first_post() -> None:
    windows = Windows(300.0, 60.0)
    assert windows.next_close() == math.inf
    assert list(windows.close_until(T0 + 10**6)) == []


def test_a_bucket_closes_once_the_watermark_passes_its_end_plus_lateness() -> None:
    windows = Windows(300.0, 60.0)
    assert windows.add(post(T0 + 10), [0], T0 + 10)
    assert windows.next_close() == T0 + 360
    assert list(windows.close_until(T0 + 359)) == []
    (closed,) = windows.close_until(T0 + 360)
    assert (closed.start, closed.posts, dict(closed.terms)) == (T0, 1, {0: 1})


def test_buckets_close_in_order_empty_ones_too() -> None:
    windows = Windows(300.0, 0.0)
    windows.add(post(T0), [0], T0)
    windows.add(post(T0 + 900), [0], T0 + 900)
    closed = list(windows.close_until(T0 + 1200))
    assert [(b.start - T0, b.posts) for b in closed] == [(0, 1), (300, 0), (600, 0), (900, 1)]
    assert windows.open == {}


def test_a_post_for_a_closed_bucket_is_late() -> None:
    windows = Windows(300.0, 60.0)
    windows.start_at(T0 + 299)  # counting starts at the bucket holding it
    assert windows.first_start == T0
    assert list(windows.close_until(T0 + 360))
    assert not windows.add(post(T0 + 100), [0], T0 + 100)
    assert windows.add(post(T0 + 301), [0], T0 + 301)


def test_the_final_watermark_closes_every_open_bucket_and_the_state_pickles() -> None:
    windows = Windows(300.0, 60.0)
    for minute in (0, 7, 31):
        windows.add(post(T0 + minute * 60), [0], T0 + minute * 60)
    copy = pickle.loads(pickle.dumps(windows))  # a checkpoint holds it
    closed = list(copy.close_until(copy.final_watermark()))
    assert [b.posts for b in closed if b.posts] == [1, 1, 1]
    assert copy.open == {}
    assert windows.open.keys() == {T0, T0 + 300, T0 + 1800}
