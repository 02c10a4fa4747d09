"""Who spoke on the issue before (`watcher.pipeline.standing`): a bounded record per author."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.pipeline.buckets import Bucket
from watcher.pipeline.standing import DAY, TopicHistory
from watcher.post import Post

MOMENT = datetime(2009, 10, 1, tzinfo=UTC)


def bucket(start: float, *posts: Post) -> Bucket:
    b = Bucket(start)
    for post in posts:
        b.add(post, [0], start)
    return b


def test_records_posts_own_words_abuse_and_span() -> None:
    history = TopicHistory()
    history.learn(bucket(0.0, Post("1", "ngo", "raw sewage again", MOMENT)))
    history.learn(bucket(20 * DAY, Post("2", "ngo", "raw sewage, the scum", MOMENT)))
    history.learn(bucket(21 * DAY, Post("3", "ngo", "raw sewage", MOMENT, reshare_of="9")))
    record = history.get("ngo")
    assert record is not None
    assert (record.first, record.last, record.posts, record.own_words, record.abusive) == (
        0.0, 21 * DAY, 3, 2, 1,
    )  # fmt: skip


def test_memory_is_bounded_and_keeps_the_steady_voices() -> None:
    history = TopicHistory(cap=1_000)
    for day in range(30):  # a voice posting every day among a flood of one-off authors
        posts = [Post(f"{day}-{n}", f"once{day}-{n}", "raw sewage", MOMENT) for n in range(400)]
        history.learn(bucket(day * DAY, Post(f"v{day}", "steady", "raw sewage", MOMENT), *posts))
        assert len(history.records) <= 1_000
    record = history.get("steady")
    assert record is not None
    assert (record.posts, record.first) == (30, 0.0)


def test_a_record_pickles_and_round_trips() -> None:
    import pickle

    from watcher.pipeline.standing import Record

    record = Record(1.0, 2.5, posts=7, own_words=5, abusive=1)
    assert pickle.loads(pickle.dumps(record, pickle.HIGHEST_PROTOCOL)) == record
