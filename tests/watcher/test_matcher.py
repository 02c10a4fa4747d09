from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.matcher import Matcher, normalise


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
