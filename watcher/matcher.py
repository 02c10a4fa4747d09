"""Match every playbook's terms against a post in one Aho-Corasick pass.

How a term matches (this is the contract the playbook docs describe):

* Post text and terms are normalised the same way: case-folded, and accents removed
  (NFKD, combining marks dropped), so `Dépôt` matches `depot`.
* A term matches only as whole words: the characters just before and after it must not be
  letters, digits or `_`. `gag order` matches "a GAG ORDER!" but not "gag orders".
* A plain term also matches its hashtag (`trafigura` matches "#Trafigura"), because `#` is not
  a word character; a `#tag` term matches only the hashtag.
* Phrase words must be separated by single spaces in the post.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick


def normalise(text: str) -> str:
    """Case-fold and strip accents; ASCII takes the fast path.

    >>> normalise("Dépôt de DÉCHETS")
    'depot de dechets'
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class _Entry:
    playbook: int
    term: int
    exclude: bool


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


class Matcher:
    """Which terms of which playbooks a text mentions, with `exclude` terms applied.

    >>> m = Matcher([["toxic waste", "#trafigura"], ["sewage"]], [["gardening"], []])
    >>> m.match("Toxic waste dumped! #Trafigura")
    {0: [0, 1]}
    >>> m.match("toxic waste and gardening tips, raw sewage")
    {1: [0]}
    >>> m.match("toxic wastes") is None
    True
    """

    def __init__(self, terms: Sequence[Sequence[str]], excludes: Sequence[Sequence[str]]) -> None:
        self._automaton = ahocorasick.Automaton()
        table: dict[str, list[_Entry]] = {}
        for playbook, (included, excluded) in enumerate(zip(terms, excludes, strict=True)):
            for index, term in enumerate(included):
                table.setdefault(normalise(term), []).append(_Entry(playbook, index, False))
            for index, term in enumerate(excluded):
                table.setdefault(normalise(term), []).append(_Entry(playbook, index, True))
        for key, entries in table.items():
            self._automaton.add_word(key, (len(key), tuple(entries)))
        self._empty = not table
        if not self._empty:
            self._automaton.make_automaton()

    def match(self, text: str) -> dict[int, list[int]] | None:
        """Playbook index → sorted term indexes mentioned; `None` when nothing counts."""
        if self._empty:
            return None
        norm = normalise(text)
        hits: dict[int, set[int]] | None = None
        excluded: set[int] | None = None
        last = len(norm) - 1
        for end, (length, entries) in self._automaton.iter(norm):
            start = end - length + 1
            if start > 0 and _is_word_char(norm[start - 1]) and norm[start] != "#":
                continue
            if end < last and _is_word_char(norm[end + 1]):
                continue
            for entry in entries:
                if entry.exclude:
                    excluded = excluded or set()
                    excluded.add(entry.playbook)
                else:
                    hits = hits or {}
                    hits.setdefault(entry.playbook, set()).add(entry.term)
        if hits is None:
            return None
        if excluded:
            hits = {p: t for p, t in hits.items() if p not in excluded}
        return {p: sorted(t) for p, t in sorted(hits.items())} or None
