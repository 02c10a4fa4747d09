"""The engine end to end on small streams: a crowd alerts, own voice and decoys do not, and the
batched hot path (decoding, time parsing) agrees with the line-by-line validator."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import T0, PostFactory
from watcher.pipeline.decode import decode_one_by_one
from watcher.pipeline.engine import Engine, rfc3339_seconds
from watcher.playbooks.model import Playbook
from watcher.post import PostError, parse_timestamp

MIN = 60.0


def background(make_post: PostFactory, hours: int) -> list[dict[str, object]]:
    """A few on-topic posts an hour from a handful of people, plus off-topic chatter."""
    posts = []
    for minute in range(hours * 60):
        ts = T0 + minute * MIN
        if minute % 20 == 0:
            posts.append(make_post(ts, "report on toxic waste", author=f"regular{minute % 7}"))
        posts.append(make_post(ts + 1, "lovely weather today", author="chatty"))
    return posts


def crowd(make_post: PostFactory, start: float, n: int, **extra: object) -> list[dict[str, object]]:
    return [
        make_post(
            start + i * 3,
            f"Stop the gag order on toxic waste! #dumpgate #freepress {i}",
            author=f"person{i}",
            **extra,
        )
        for i in range(n)
    ]


def lines(posts: list[dict[str, object]]) -> list[bytes]:
    ordered = sorted(posts, key=lambda p: str(p["created_at"]))
    return [orjson.dumps(p) for p in ordered]


def run(playbook: Playbook, posts: list[dict[str, object]]) -> Engine:
    engine = Engine([playbook])
    engine.feed_lines(lines(posts))
    engine.flush()
    return engine


def test_crowd_surge_raises_one_new_alert_with_its_brief(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    posts = background(make_post, 6) + crowd(make_post, T0 + 6 * 3600, 200)
    engine = run(mini_playbook, posts)
    alerts = engine.drain_alerts()
    new = [a for a in alerts if a.surge.kind == "new"]
    assert len(new) == 1
    alert = new[0].to_json()
    assert alert["playbook"] == "waste"
    assert alert["fired_at"] > "2024-03-04T06:00"
    assert alert["distinct_authors"] >= 50
    assert "#freepress" in alert["emerging_terms"]
    assert "#dumpgate" not in alert["emerging_terms"]  # a playbook term is not "emerging"
    assert alert["resources"][0]["title"] == "Our dumping report"
    assert alert["voices"][0]["title"] == "Jo Reporter"
    assert alert["offers"][0]["title"] == "Meeting room"


def test_organisation_own_voice_does_not_count(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    start = T0 + 6 * 3600
    own = make_post(start, "Our toxic waste report is out", author="ngo@example.org", id="own1")
    reshares = crowd(make_post, start + 1, 150, reshare_of="own1")
    links = crowd(make_post, start + 1, 150, url="https://ngo.example/report")
    engine = run(mini_playbook, [*background(make_post, 6), own, *reshares, *links])
    assert engine.drain_alerts() == []
    assert engine.stats.own_voice["waste"] == 301


def test_excluded_posts_do_not_count(mini_playbook: Playbook, make_post: PostFactory) -> None:
    surge = crowd(make_post, T0 + 6 * 3600, 200)
    for post in surge:
        post["text"] = f"{post['text']} in the video game"
    engine = run(mini_playbook, background(make_post, 6) + surge)
    assert engine.drain_alerts() == []


def test_malformed_lines_are_counted_and_skipped(mini_playbook: Playbook) -> None:
    engine = Engine([mini_playbook])
    good = orjson.dumps({"id": "1", "author": "a", "text": "toxic waste", "created_at": T0})
    engine.feed_lines([b"{broken", good, b'{"id": 2}', b"", good])
    assert engine.stats.received == 4
    assert engine.stats.malformed == 2
    assert engine.stats.matched["waste"] == 2


def test_late_posts_are_counted_not_bucketed(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    engine = Engine([mini_playbook], lateness=60)
    engine.feed_lines(lines([make_post(T0 + 3600, "toxic waste")]))
    engine.feed_lines(lines([make_post(T0, "toxic waste")]))
    assert engine.stats.late == 1


def test_replay_is_deterministic(mini_playbook: Playbook, make_post: PostFactory) -> None:
    posts = background(make_post, 6) + crowd(make_post, T0 + 6 * 3600, 200)
    first = [a.to_json() for a in run(mini_playbook, posts).drain_alerts()]
    second = [a.to_json() for a in run(mini_playbook, posts).drain_alerts()]
    assert first
    assert first == second


@given(
    st.lists(
        st.tuples(
            # hypothesis takes naive bounds; the zone is added to the text below
            st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1)),  # noqa: DTZ001
            st.sampled_from(["Z", "+00:00", "+02:00", "-05:30", ""]),
            st.sampled_from([0, 3, 6]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_hot_path_time_parsing_agrees_with_the_validator(
    stamps: list[tuple[datetime, str, int]],
) -> None:
    for moment, zone, digits in stamps:
        text = moment.isoformat(timespec="seconds")
        if digits:
            text += "." + f"{moment.microsecond:06d}"[:digits]
        text += zone
        assert rfc3339_seconds(text) == parse_timestamp(text)


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-04T00:00:61Z",
        "2024-03-04T00:00:1²Z",
        "2024-03-04T00:00:01.5e3Z",
        "2024-03-04T00:00:01.5 Z",
        "2024-03-04T00:00:-1Z",
    ],
)
def test_hot_path_time_parsing_refuses_what_the_validator_refuses(text: str) -> None:
    assert rfc3339_seconds(text) is None
    with pytest.raises(PostError):
        parse_timestamp(text)


def test_batch_decoding_and_line_by_line_agree(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    posts = background(make_post, 6) + crowd(make_post, T0 + 6 * 3600, 200)
    posts.append(make_post(T0 + 7 * 3600, "toxic waste", created_at=T0 + 7 * 3600))  # epoch
    batch = lines(posts)
    fast, slow = Engine([mini_playbook]), Engine([mini_playbook])
    fast.feed_lines([*batch, b"", b"  "])
    slow.feed_decoded(decode_one_by_one([*batch, b"", b"  "], own=slow.own_handles))
    fast.flush()
    slow.flush()
    assert fast.stats == slow.stats
    assert [a.to_json() for a in fast.drain_alerts()] == [a.to_json() for a in slow.drain_alerts()]


def test_a_batch_with_one_bad_line_still_counts_the_good_ones(mini_playbook: Playbook) -> None:
    engine = Engine([mini_playbook])
    good = orjson.dumps({"id": "1", "author": "a", "text": "toxic waste", "created_at": T0})
    engine.feed_lines([good, b'{"id": "2", "text": 5, "created_at": 1}', good])
    assert (engine.stats.received, engine.stats.malformed) == (3, 1)
    assert engine.stats.matched["waste"] == 2
    assert engine.stats.last_error == "`author` is required and must be a string"
