"""Match every playbook's terms against a post in one Aho-Corasick pass.

How a term matches (this is the contract the playbook docs describe):

* Post text and terms are normalised the same way: case-folded, accents removed (NFKD,
  combining marks dropped) and curly apostrophes straightened. So `Dépôt` matches `depot`.
* Words of a phrase match when the post separates them by one space or one line break:
  `gag order` matches "gag\\norder" but not "gag  order" (two spaces). The line-break
  spellings are extra automaton keys, so they cost nothing per post.
* A term matches only as whole words: the characters just before and after it must not be
  letters, digits or `_`. `gag order` matches "a GAG ORDER!" but not "gag orders". In scripts
  written without spaces between words (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar)
  no boundary is needed, because there is none to find.
* A plain term also matches its hashtag (`trafigura` matches "#Trafigura"), because `#` is not
  a word character; a `#tag` term matches only the hashtag.
* A playbook's post counts when it mentions one of its `terms`, one term of every `all_of`
  group, none of its `exclude` terms, and, if it lists `languages`, the post's `lang` is one
  of them (posts that do not say their language are kept).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick_rs

_TERM, _EXCLUDE, _GROUP = 0, 1, 2
_PUNCT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-"})
#: Scripts written without spaces between words: (first, last) code points.
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B onwards
)
#: Above this many keys the prefilter lets ahocorasick_rs pick a smaller automaton than a DFA
#: (a 50,000-key DFA takes about a second and ~100 MB to build).
DFA_MAX_KEYS = 20_000
#: `lang` values that say nothing about the language.
UNKNOWN_LANGS = frozenset({"", "und", "mul", "zxx"})


def normalise(text: str) -> str:
    """Case-fold, strip accents and straighten apostrophes; ASCII takes the fast path.

    >>> normalise("Dépôt de DÉCHETS")
    'depot de dechets'
    >>> normalise("Renters’ Rights")
    "renters' rights"
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_PUNCT)


#: Phrases with more word gaps than this match only with spaces (2^gaps spellings each).
MAX_SPELLING_GAPS = 4


def _spellings(key: str) -> list[str]:
    """`key` with each of its spaces written as a space or a line break.

    >>> _spellings("gag order")
    ['gag order', 'gag\\norder']
    """
    parts = key.split(" ")
    if len(parts) == 1 or len(parts) - 1 > MAX_SPELLING_GAPS:
        return [key]
    found = [parts[0]]
    for part in parts[1:]:
        found = [f"{head}{gap}{part}" for head in found for gap in (" ", "\n")]
    return found


def _unspaced(c: str) -> bool:
    code = ord(c)
    return code >= 0x0E00 and any(lo <= code <= hi for lo, hi in _UNSPACED)


def _joins(a: str, b: str) -> bool:
    """True when `a` and `b` are adjacent parts of one word, so no word boundary lies between."""
    return (
        (a.isalnum() or a == "_")
        and (b.isalnum() or b == "_")
        and not (_unspaced(a) or _unspaced(b))
    )


def _whole(norm: str, start: int, end: int) -> bool:
    """Whether `norm[start:end + 1]` stands as whole words in `norm`."""
    if start > 0 and norm[start] != "#" and _joins(norm[start - 1], norm[start]):
        return False
    return not (end < len(norm) - 1 and _joins(norm[end], norm[end + 1]))


def covers(general: str, specific: str) -> bool:
    """True when every post that mentions `specific` also mentions `general`.

    >>> covers("sewage", "raw sewage"), covers("raw sewage", "sewage")
    (True, False)
    >>> covers("trafigura", "#Trafigura"), covers("#trafigura", "trafigura")
    (True, False)
    >>> covers("waste", "wastewater")
    False
    """
    return covers_normalised(normalise(general), normalise(specific))


def covers_normalised(g: str, s: str) -> bool:
    """`covers` for terms already passed through `normalise` (checks compare many pairs)."""
    if not g:
        return False
    start = s.find(g)
    while start != -1:
        if _whole(s, start, start + len(g) - 1):
            return True
        start = s.find(g, start + 1)
    return False


def language_of(lang: str) -> str:
    """The main language code of a post's `lang` ('en-GB' → 'en'); '' when it says nothing."""
    main = lang.partition("-")[0].partition("_")[0].strip().lower()
    return "" if main in UNKNOWN_LANGS else main


@dataclass(frozen=True, slots=True)
class _Rule:
    """The extra conditions of one playbook that uses `all_of` or `languages`."""

    groups: int
    languages: frozenset[str]

    def admits(self, seen: set[int] | None, lang: str) -> bool:
        if self.groups and (seen is None or len(seen) < self.groups):
            return False
        if self.languages:
            main = language_of(lang)
            return not main or main in self.languages
        return True


class Matcher:
    """Which terms of which playbooks a text mentions, with every playbook's conditions applied.

    Playbooks without `all_of` or `languages` pay nothing for them: the extra checks run only
    for playbooks that use them, and only on posts that already mention one of their terms.

    >>> m = Matcher([["toxic waste", "#trafigura"], ["sewage"]], [["gardening"], []])
    >>> m.match("Toxic waste dumped! #Trafigura")
    {0: [0, 1]}
    >>> m.match("toxic waste and gardening tips, raw sewage")
    {1: [0]}
    >>> m.match("toxic wastes") is None
    True
    >>> m = Matcher([["eviction"]], [[]], all_of=[[["tower", "block"]]], languages=[["en"]])
    >>> m.match("eviction at the tower", "en-GB"), m.match("eviction at the tower", "fr")
    ({0: [0]}, None)
    >>> m.match("eviction notice") is None
    True
    """

    def __init__(
        self,
        terms: Sequence[Sequence[str]],
        excludes: Sequence[Sequence[str]],
        *,
        all_of: Sequence[Sequence[Sequence[str]]] | None = None,
        languages: Sequence[Sequence[str]] | None = None,
    ) -> None:
        groups = all_of if all_of is not None else [()] * len(terms)
        langs = languages if languages is not None else [()] * len(terms)
        table: dict[str, list[tuple[int, int, int]]] = {}
        self._rules: list[_Rule | None] = []
        rows = zip(terms, excludes, groups, langs, strict=True)
        for playbook, (included, excluded, all_groups, codes) in enumerate(rows):
            for index, term in enumerate(included):
                table.setdefault(normalise(term), []).append((playbook, _TERM, index))
            for index, term in enumerate(excluded):
                table.setdefault(normalise(term), []).append((playbook, _EXCLUDE, index))
            for group, members in enumerate(all_groups):
                for term in members:
                    table.setdefault(normalise(term), []).append((playbook, _GROUP, group))
            wanted = frozenset(language_of(code) for code in codes) - {""}
            needed = bool(all_groups) or bool(wanted)
            self._rules.append(_Rule(len(all_groups), wanted) if needed else None)
        # Each spelling of a key, with what a hit on it means (a spelling met again, from
        # another key, means what the last one says).
        spelled: dict[str, tuple[tuple[int, int, int], ...]] = {}
        for key, entries in table.items():
            # A term listed twice in one role (say, in two all_of groups) keeps every entry.
            value = tuple(dict.fromkeys(entries))
            for spelling in _spellings(key):
                spelled[spelling] = value
        # One Rust automaton (a DFA up to DFA_MAX_KEYS keys) serves both the batch prefilter,
        # which only asks whether any key occurs, and the exact check, which asks for every
        # occurrence, overlapping ones too: it scans ~4x faster than pyahocorasick walked its
        # trie (bench/README.md).
        self._spellings = list(spelled)
        self._entries = list(spelled.values())
        self._prefilter = ahocorasick_rs.AhoCorasick(
            self._spellings or [" "],
            implementation=(
                ahocorasick_rs.Implementation.DFA if len(self._spellings) <= DFA_MAX_KEYS else None
            ),
        )
        self._constrained = any(rule is not None for rule in self._rules)
        self._empty = not table

    def candidates(self, texts: Sequence[str]) -> list[int]:
        """Indexes of the texts in which any term, exclude or group key occurs at all.

        One pass of the automaton over the whole batch joined by NUL (no key holds one), so
        the ~95% of posts that mention nothing cost a share of one C call each instead of a
        Python call. The survivors still go through `match`, which applies word boundaries,
        excludes, `all_of` and languages; this is a filter, never a verdict.

        >>> m = Matcher([["toxic waste"], ["sewage"]], [[], []])
        >>> m.candidates(["hello", "TOXIC WASTE here", "Dépôt", "raw sewage", "toxic wastes"])
        [1, 3, 4]
        """
        if self._empty or not texts:
            return []
        joined = "\x00".join(texts)
        norm = joined.lower() if joined.isascii() else "\x00".join(map(normalise, texts))
        # A hit's text is the number of NULs before it: counted in C from one hit to the
        # next, so the ~95% of texts without one cost nothing more here.
        found: list[int] = []
        line = seen = 0
        for start in sorted(hit[1] for hit in self._prefilter.find_matches_as_indexes(norm)):
            line += norm.count("\x00", seen, start)
            seen = start
            if not found or found[-1] != line:
                found.append(line)
        return found

    def match(self, text: str, lang: str = "") -> dict[int, list[int]] | None:
        """Playbook index → sorted term indexes mentioned; `None` when nothing counts."""
        if self._empty:
            return None
        norm = normalise(text)
        hits: dict[int, set[int]] | None = None
        excluded: set[int] | None = None
        seen: dict[int, set[int]] | None = None
        last = len(norm) - 1
        spelled = self._entries
        for key, start, stop in self._prefilter.find_matches_as_indexes(norm, overlapping=True):
            # Inline of `_whole`'s cheap case: most hits sit between spaces or punctuation.
            end = stop - 1
            before = norm[start - 1] if start > 0 else " "
            after = norm[end + 1] if end < last else " "
            if (before.isalnum() or before == "_" or after.isalnum() or after == "_") and not (
                _whole(norm, start, end)
            ):
                continue
            for playbook, kind, index in spelled[key]:
                if kind == _TERM:
                    hits = hits or {}
                    hits.setdefault(playbook, set()).add(index)
                elif kind == _EXCLUDE:
                    excluded = excluded or set()
                    excluded.add(playbook)
                else:
                    seen = seen or {}
                    seen.setdefault(playbook, set()).add(index)
        if hits is None:
            return None
        if excluded:
            hits = {p: t for p, t in hits.items() if p not in excluded}
        if self._constrained:
            groups = seen or {}
            hits = {
                p: t
                for p, t in hits.items()
                if (rule := self._rules[p]) is None or rule.admits(groups.get(p), lang)
            }
        return {p: sorted(t) for p, t in sorted(hits.items())} or None
