from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.pipeline.matcher import (
    Matcher,
    _spellings,
    covers,
    covers_normalised,
    normalise,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TOXIC WASTE dumped", {0: [0]}),
        ("toxic wastes", None),
        ("nontoxic waste", None),
        ("toxic-waste", None),
        ("#Trafigura now!", {0: [1]}),
        ("trafigura", {0: [1]}),
        ("déchets toxiques à Abidjan", {0: [2]}),
        ("the super_injunction", None),
        ("#dumpgate trends", {0: [3]}),
        ("dumpgate trends", None),
        ("toxic waste, trafigura and #dumpgate", {0: [0, 1, 3]}),
    ],
)
def test_whole_word_case_and_accent_insensitive(
    text: str, expected: dict[int, list[int]] | None
) -> None:
    matcher = Matcher([["toxic waste", "Trafigura", "DÉCHETS TOXIQUES", "#dumpgate"]], [[]])
    assert matcher.match(text) == expected


def test_exclude_only_removes_its_own_playbook() -> None:
    matcher = Matcher([["sewage"], ["sewage", "river"]], [["video game"], []])
    assert matcher.match("sewage level in the video game") == {1: [0]}
    assert matcher.match("sewage in the river") == {0: [0], 1: [0, 1]}


def test_no_playbooks_match_nothing() -> None:
    assert Matcher([], []).match("anything") is None


def test_normalise_folds_case_and_accents() -> None:
    assert normalise("Straße ÉLAN") == "strasse elan"


@given(st.text(max_size=200))
def test_matching_never_crashes_and_hits_are_real_terms(text: str) -> None:
    matcher = Matcher([["ab", "a b", "#x"]], [["zz"]])
    hits = matcher.match(text)
    if hits is not None:
        assert set(hits) == {0}
        assert all(0 <= term < 3 for term in hits[0])


def test_all_of_needs_one_term_from_every_group() -> None:
    matcher = Matcher(
        [["eviction", "bailiffs"]],
        [[]],
        all_of=[[["tower", "block"], ["police", "#hartleytowers"]]],
    )
    assert matcher.match("bailiffs at the tower, police everywhere") == {0: [1]}
    assert matcher.match("eviction at the block #HartleyTowers") == {0: [0]}
    assert matcher.match("eviction at the tower") is None  # second group missing
    assert matcher.match("tower block police") is None  # no main term


def test_languages_filter_on_the_main_code_and_keep_posts_without_one() -> None:
    matcher = Matcher([["sewage"], ["sewage"]], [[], []], languages=[["en", "cy"], []])
    assert matcher.match("raw sewage", "en-GB") == {0: [0], 1: [0]}
    assert matcher.match("raw sewage", "CY") == {0: [0], 1: [0]}
    assert matcher.match("raw sewage", "fr") == {1: [0]}
    assert matcher.match("raw sewage", "") == {0: [0], 1: [0]}
    assert matcher.match("raw sewage", "und") == {0: [0], 1: [0]}


def test_exclude_wins_over_all_of() -> None:
    matcher = Matcher([["eviction"]], [["big brother"]], all_of=[[["house"]]])
    assert matcher.match("Big Brother eviction from the house") is None


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("a gag\norder on us", True),
        ("a gag  order", False),
        ("renters’ rights now", True),
        ("東京都で汚染水", True),
        ("新しい汚染水が", True),
        ("ゴミ処理場", True),
    ],
)
def test_whitespace_apostrophes_and_unspaced_scripts(text: str, hit: bool) -> None:
    matcher = Matcher([["gag order", "renters' rights", "汚染水", "処理"]], [[]])
    assert (matcher.match(text) is not None) == hit


words = st.sampled_from(["sewage", "raw", "#sewage", "river", "a_b", "b", "x-y", "é"])
phrases = st.lists(words, min_size=1, max_size=3).map(" ".join)


@given(phrases, phrases, st.text(alphabet="ab #_-.\n", max_size=8))
def test_covers_is_exact(general: str, specific: str, noise: str) -> None:
    """If `general` covers `specific`, every text that mentions `specific` mentions `general`."""
    text = f"{noise}{specific}{noise}"
    only_specific = Matcher([[specific]], [[]]).match(text)
    if covers(general, specific) and only_specific:
        assert Matcher([[general]], [[]]).match(text)


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("istanbul", "İSTANBUL'da tahliye"),  # Turkish dotted capital I
        ("σοφος", "ΣΟΦΟΣ λόγος"),  # Greek final sigma and accent
        ("strasse", "Räumung in der STRAẞE"),  # capital sharp s
        ("مياه", "مِيَاه الصرف"),  # Arabic vowel marks are accents
        ("gag order", "🔥gag order🔥"),
    ],
)
def test_unicode_case_and_accents_in_many_scripts(term: str, text: str) -> None:
    assert Matcher([[term]], [[]]).match(text) == {0: [0]}


def _occurs_whole(key: str, norm: str) -> bool:
    """Whether any spelling of `key` occurs in `norm` as whole words, by brute force."""
    return any(covers_normalised(spelling, norm) for spelling in _spellings(key))


overlapping = st.text(alphabet="ab #\n", min_size=1, max_size=4).filter(str.strip)


@given(
    st.lists(st.lists(overlapping, min_size=1, max_size=4), min_size=1, max_size=3),
    st.lists(overlapping, max_size=2),
    st.text(alphabet="abAB #\n-é", max_size=30),
)
def test_match_finds_every_overlapping_occurrence(
    terms: list[list[str]], excludes: list[str], text: str
) -> None:
    """Every occurrence counts, overlapping ones too ("aba" holds "ab" and "ba"), as a
    brute-force search over each spelling of each term finds them."""
    excluded = [excludes if p == 0 else [] for p in range(len(terms))]
    norm = normalise(text)
    expected = {}
    for playbook, group in enumerate(terms):
        if any(_occurs_whole(normalise(term), norm) for term in excluded[playbook]):
            continue
        hits = [i for i, term in enumerate(group) if _occurs_whole(normalise(term), norm)]
        if hits:
            expected[playbook] = hits
    assert Matcher(terms, excluded).match(text) == (expected or None)
