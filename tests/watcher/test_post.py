from __future__ import annotations

import contextlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.post import Post, PostError, dump_post, parse_post_line, posts_from_ndjson

GOOD = {
    "id": "1",
    "author": "ann@m.example",
    "text": "hello",
    "created_at": "2009-10-12T20:31:00Z",
    "hashtags": ["trafigura"],
    "author_followers": 12,
    "author_created_at": "2009-06-01T00:00:00Z",
    "extra": {"kept": "ignored"},
}


def test_parses_required_and_optional_fields() -> None:
    post = parse_post_line(orjson.dumps(GOOD), default_source="file")
    assert post.id == "1"
    assert post.created_at.isoformat() == "2009-10-12T20:31:00+00:00"
    assert post.source == "file"
    assert post.hashtags == ("trafigura",)
    assert post.author_followers == 12
    assert post.author_created_at == 1243814400.0


def test_epoch_seconds_are_accepted() -> None:
    post = parse_post_line(orjson.dumps({**GOOD, "created_at": 1255379460}))
    assert post.timestamp == 1255379460.0


def test_round_trip_through_ndjson() -> None:
    post = parse_post_line(orjson.dumps(GOOD))
    assert parse_post_line(dump_post(post)) == post


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "a post must be a JSON object"),
        (orjson.dumps({**GOOD, "author": 3}), "`author` is required and must be a string"),
        (orjson.dumps({k: v for k, v in GOOD.items() if k != "created_at"}), "is required"),
        (orjson.dumps({**GOOD, "created_at": "yesterday"}), "is not an RFC 3339 time"),
        (orjson.dumps({**GOOD, "created_at": 4e10}), "outside 2000–2100"),
        (orjson.dumps({**GOOD, "author_followers": "many"}), "must be an integer"),
        (orjson.dumps({**GOOD, "hashtags": "x"}), "must be a list of strings"),
        (orjson.dumps({**GOOD, "author_created_at": "soon"}), "`author_created_at` 'soon' is not"),
    ],
)
def test_malformed_lines_say_what_is_wrong(line: bytes, message: str) -> None:
    with pytest.raises(PostError, match=message):
        parse_post_line(line)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_post_or_a_post_error(data: bytes) -> None:
    with contextlib.suppress(PostError):
        assert isinstance(parse_post_line(data), Post)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from([*GOOD, "reshare_of", "url"]), json_values))
def test_arbitrary_objects_give_a_post_or_a_post_error(obj: dict[str, object]) -> None:
    try:
        post = parse_post_line(orjson.dumps({**GOOD, **obj}))
    except PostError:
        return
    assert post.created_at.tzinfo is not None


@given(st.lists(st.dictionaries(st.sampled_from([*GOOD, "reshare_of", "url"]), json_values)))
def test_batch_decoding_agrees_with_line_by_line(objs: list[dict[str, object]]) -> None:
    lines = [orjson.dumps({**GOOD, **obj}) for obj in objs]
    one_by_one: list[Post] = []
    for line in lines:
        with contextlib.suppress(PostError):
            one_by_one.append(parse_post_line(line, default_source="s"))
    batch = posts_from_ndjson(b"\n".join(lines), default_source="s")
    if batch is not None:  # None sends the caller line by line, which is always right
        assert batch == one_by_one
        assert len(batch) == len(lines)


def test_a_well_formed_batch_takes_the_fast_path() -> None:
    full = {**GOOD, "source": "m", "url": "https://x.example/1", "lang": "en",
            "reshare_of": "0", "reply_to": "9"}  # fmt: skip
    lines = [orjson.dumps({**full, "id": str(i)}) for i in range(3)]
    batch = posts_from_ndjson(b"\n".join(lines) + b"\n\n")
    assert batch == [parse_post_line(line) for line in lines]


def test_field_sizes_are_capped_at_decode() -> None:
    """Memory is bounded by size: no platform issues a 16 KiB id or a 64 KiB author name."""
    base = {"id": "1", "author": "a", "text": "t", "created_at": 1255379460}
    for key, size, message in (
        ("id", 1_001, "`id` is 1,001 characters; at most 1,000 are allowed"),
        ("author", 501, "`author` is 501 characters; at most 500 are allowed"),
    ):
        line = orjson.dumps({**base, key: "x" * size})
        with pytest.raises(PostError) as caught:
            parse_post_line(line)
        assert str(caught.value) == message
        assert posts_from_ndjson(line) is None  # the batch path hands it to the explainer
    long = orjson.dumps({**base, "text": "y" * 50_000, "id": "i" * 1_000, "author": "a" * 500})
    for post in (parse_post_line(long), *(posts_from_ndjson(long) or ())):
        assert len(post.text) == 40_000


def test_a_post_pickles_as_its_fields_and_an_old_pickle_still_loads() -> None:
    import pickle

    post = parse_post_line(orjson.dumps({**GOOD, "url": "u", "reshare_of": "r", "lang": "en"}))
    data = pickle.dumps(post, pickle.HIGHEST_PROTOCOL)
    assert pickle.loads(data) == post
    reduce = Post.__reduce__
    try:  # a checkpoint written before: the frozen, slotted dataclass's own state
        del Post.__reduce__
        legacy = pickle.dumps(post, pickle.HIGHEST_PROTOCOL)
    finally:
        Post.__reduce__ = reduce  # type: ignore[method-assign]
    assert legacy != data
    assert pickle.loads(legacy) == post
