"""Escaping and clipping hold for any text (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from responders.slack.text import clip, escape, link

ENTITY_CUT = re.compile(r"&(?!amp;|lt;|gt;)")


@given(st.text(), st.integers(min_value=1, max_value=400))
def test_clip_is_escaped_bounded_and_never_cuts_an_entity(text: str, limit: int) -> None:
    out = clip(text, limit)
    assert len(out) <= limit
    assert "<" not in out
    assert ">" not in out
    assert not ENTITY_CUT.search(out)


@given(st.text(alphabet="<>&|@!abc ", max_size=60))
def test_escape_round_trips_through_slack_unescaping(text: str) -> None:
    unescaped = escape(text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped == text


@given(st.text(), st.text())
def test_a_link_opens_at_most_one_control_sequence_and_it_is_ours(url: str, label: str) -> None:
    out = link(url, label)
    assert out.count("<") <= 1
    if out.startswith("<"):
        assert out.endswith(">")
        assert out.count(">") == 1
        assert out[1:].startswith(("http://", "https://"))
        assert "|" in out
    else:
        assert "<" not in out


@given(
    st.sampled_from(
        ["https://a.example/p", "https://b.example/p", "javascript:x", "http://a.example"]
    ),
    st.sampled_from(["https://a.example/s/1", "at://did:plc:x/p/1", "reddit:t3_x", "7", ""]),
    st.sampled_from(["u@a.example", "@u@B.example", "did:plc:x", "<!here>*boss*", ""]),
)
def test_a_post_links_only_to_its_own_host(url: str, post_id: str, author: str) -> None:
    from urllib.parse import urlsplit

    from responders.slack.text import post_host, post_link

    out = post_link(url, post_id, author)
    assert out == "" or urlsplit(out).hostname == post_host(post_id, author) != ""


def test_format_characters_are_dropped_and_markup_is_disarmed() -> None:
    from responders.slack.text import literal, plain

    assert clip("a\u202eb\u200bc\u2066d", 20) == "abcd"
    assert plain("x\u200d\u202ey", 20) == "xy"
    assert literal("*bold* _it_ ~s~ `c` :fire: 10:30", 60) == "∗bold∗ ˍitˍ ∼s∼ ˋcˋ ˸fire˸ 10:30"
