"""Gaps and skew in event time: a year-long gap costs a day of bucket closes, a post far
outside the window is refused per feed, and each feed has its own watermark (issue 14, D4
and D11)."""

from __future__ import annotations

import orjson

from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import crowd, lines
from watcher.pipeline.buckets import Bucket
from watcher.pipeline.engine import HORIZON_S, IDLE_SPAN_S, Engine
from watcher.pipeline.windows import Skipped, Watermark, Windows
from watcher.playbooks.model import Playbook

DAY = 24 * 3600.0
YEAR = 365 * DAY


def test_past_the_idle_limit_an_empty_stretch_is_one_skip_up_to_the_next_posts() -> None:
    windows = Windows(300.0, 0.0)
    windows.start_at(T0)
    windows.open[T0 + 3000.0] = Bucket(T0 + 3000.0)
    got = list(windows.advance(T0 + 3900.0, idle=3))
    # an empty bucket comes as its start, one holding posts as its Bucket
    assert [type(g).__name__ for g in got] == ["float"] * 3 + ["Skipped", "Bucket"] + ["float"] * 2
    assert got[:3] == [T0, T0 + 300.0, T0 + 600.0]
    assert got[3] == Skipped(T0 + 900.0, 7)  # 900 … 2700, then the bucket holding posts
    assert isinstance(got[4], Bucket)
    assert [got[4].start, *got[5:]] == [T0 + 3000, T0 + 3300, T0 + 3600]
    assert windows.first_start == T0 + 3900.0


def test_without_a_gap_every_empty_bucket_closes_as_before() -> None:
    """A skip needs `idle` empty buckets in one advance: a steadily moving watermark closes
    each one, exactly as without the limit."""
    one, other = Windows(300.0, 60.0), Windows(300.0, 60.0)
    for windows in (one, other):
        windows.start_at(T0)
    steady = [b for t in range(1, 200) for b in one.advance(T0 + t * 300.0, idle=3)]
    assert all(isinstance(b, float) for b in steady)  # every one empty, none skipped
    assert steady == [b.start for b in other.close_until(T0 + 199 * 300.0)]


def test_a_year_long_gap_costs_a_day_of_closes_and_detection_goes_on(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    engine = Engine([mini_playbook])
    closed: list[float] = []
    engine.on_bucket(lambda _, bucket, __: closed.append(bucket.start))
    engine.feed_lines(lines([make_post(T0, "toxic waste, a year ago")]))
    now = T0 + YEAR
    engine.feed_lines(lines(quiet(make_post, now, 6)))
    detector = engine.runtimes[0].detector
    per_day = round(IDLE_SPAN_S / 300)
    assert per_day <= len(closed) <= per_day + 6 * 12 + 2  # a day of zeros, then six hours
    # the year's buckets: the old post's, a day of zeros, the skip, and the one just before
    # `now`, which stays open for its lateness
    assert detector.skipped_buckets == round(YEAR / 300) - 1 - per_day - 1  # type: ignore[attr-defined]
    engine.feed_lines(lines(crowd(make_post, now + 6 * 3600, 200)))
    engine.flush()
    kinds = [a.surge.kind for a in engine.drain_alerts()]
    assert kinds[:1] == ["new"]  # the campaign after the gap is caught


def quiet(make_post: PostFactory, start: float, hours: int) -> list[dict[str, object]]:
    """A few on-topic posts an hour from a handful of regulars."""
    return [
        make_post(start + m * 60.0, "report on toxic waste", author=f"regular{m % 7}")
        for m in range(0, hours * 60, 20)
    ]


def test_a_post_far_behind_the_window_is_refused_per_feed(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    engine = Engine([mini_playbook])
    engine.feed_lines(lines([make_post(T0 + 2 * DAY, "toxic waste now")]), source="a")
    engine.feed_lines(
        lines([make_post(T0 + 2 * DAY - 3600, "toxic waste, an hour ago")]), source="b"
    )
    engine.feed_lines(lines([make_post(T0, "toxic waste, two days ago")]), source="b")
    engine.feed_lines(lines([make_post(T0 + 2 * DAY - HORIZON_S - 1, "toxic waste")]), source="c")
    assert engine.stats.late == 1  # the hour-old one: its bucket has closed
    assert engine.stats.refused == {"b": 1, "c": 1}
    assert engine.stats.matched["waste"] == 1


def feed(engine: Engine, source: str, make_post: PostFactory, ts: float, n: int = 1) -> None:
    posts = [
        make_post(ts + i, f"toxic waste {source} {i}", author=f"{source}{i}") for i in range(n)
    ]
    engine.feed_lines([orjson.dumps(p) for p in posts], source=source)


def test_a_feed_ahead_does_not_make_a_feed_behind_late(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    """The issue's case: one post 4 minutes ahead, then a feed 2 minutes behind."""
    now = T0 + 3600
    engine = Engine([mini_playbook])
    feed(engine, "behind", make_post, now - 120 - 600)
    feed(engine, "ahead", make_post, now + 240)
    for minute in range(10):  # the feed behind goes on posting, 2 minutes behind
        feed(engine, "behind", make_post, now - 120 + minute * 60, 10)
    assert engine.stats.late == 0
    assert engine.stats.matched["waste"] == 102
    # one feed alone is its own watermark, as before: a post 6 minutes back is late
    alone = Engine([mini_playbook])
    feed(alone, "only", make_post, now + 240)
    feed(alone, "only", make_post, now - 120, 10)
    assert alone.stats.late == 10


def test_a_silent_or_far_behind_feed_holds_buckets_only_up_to_the_skew_bound() -> None:
    mark = Watermark(300.0)
    mark.see("rss", T0)  # a feed whose newest post is old, and then says nothing
    assert mark.see("live", T0 + 3600) == T0 + 3300
    assert mark.see("live", T0 + 7200) == T0 + 6900
    assert mark.see("rss", T0 + 100) == T0 + 6900  # never back


def test_live_posts_of_hostile_size_are_malformed_or_cut(mini_playbook: Playbook) -> None:
    """Feeds build their own posts (Mastodon, Jetstream, ...): the caps hold for them too."""
    from datetime import UTC, datetime

    from watcher.post import Post

    at = datetime.fromtimestamp(T0, tz=UTC)
    engine = Engine([mini_playbook])
    engine.feed_posts(
        [
            Post("i" * 16_384, "a", "toxic waste", at),
            Post("2", "a" * 65_536, "toxic waste", at),
            Post("3", "b", "toxic waste " + "x" * 100_000, at),
        ]
    )
    assert engine.stats.malformed == 2
    assert engine.stats.last_error == "`author` is 65,536 characters; at most 500 are allowed"
    [bucket] = engine.runtimes[0].windows.open.values()
    assert [len(p.text) for p in bucket.examples.values()] == [40_000]
