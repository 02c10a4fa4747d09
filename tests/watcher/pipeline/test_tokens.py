"""The matched path's shortcuts give exactly what the plain way gives (issue 16, session 7)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from responders.brief.safety import ABUSE, abusive_flags, is_abusive
from watcher.pipeline.matcher import normalise
from watcher.pipeline.tokens import _TOKEN, STOPWORDS, _plain_words, tokens_of

#: Pieces that exercise every branch of the word rule: edges, apostrophes, hyphens, digits.
PIECES = [
    *"aBzs_'-#@:/.,!? \t\n\x1c",
    "'s",
    "://",
    "https://x.y/a",
    "@jo",
    "#Tag",
    "42",
    "the",
    "gag",
    "ORDER",
    "carter-ruck",
    "MP's",
    "e-mail",
    "Dépôt",
    "ſcum",
    "’",
    "中文",
    "\u00a0",
    *ABUSE[:6],
]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@given(texts)
def test_plain_words_are_the_regex_words(text: str) -> None:
    norm = normalise(text)
    if norm.isascii() and "#" not in norm and "@" not in norm and "://" not in norm:
        assert _plain_words(norm) == [word for _, word in _TOKEN.findall(norm) if word]


def _tokens_by_regex(text: str, hashtags: tuple[str, ...]) -> set[str]:
    """tokens_of as it was before the plain path: one regex pass and a loop."""
    found = {"#" + normalise(tag).lstrip("#") for tag in hashtags}
    previous = ""
    for tag, word in _TOKEN.findall(normalise(text)):
        if tag:
            found.add("#" + tag)
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) < 3 or word in STOPWORDS:
            previous = ""
            continue
        found.add(word)
        if previous:
            found.add(f"{previous} {word}")
        previous = word
    return found


@given(texts, st.lists(st.sampled_from(["X", "#y", "Tag", "é"]), max_size=2).map(tuple))
def test_tokens_are_the_regex_loops(text: str, hashtags: tuple[str, ...]) -> None:
    assert tokens_of(text, hashtags) == _tokens_by_regex(text, hashtags)


@given(st.lists(texts, max_size=6))
def test_abusive_flags_are_is_abusive(batch: list[str]) -> None:
    flags = abusive_flags(batch)
    expected = [is_abusive(text) for text in batch]
    assert (flags if flags is not None else [False] * len(batch)) == expected
