"""Which posts read as abuse, for the people-safety rule: an abusive account is never named.

A small lexicon of insults and threats, matched as whole words. It is a floor, not a
classifier: it catches the plain abuse a pile-on is made of ("scum", "vermin", "burn their
house down") and misses sarcasm and coded slurs, so it only ever removes accounts from the
brief, never adds one. A trained toxicity model would do better and needs weights this
project does not ship; the rule reads `is_abusive`, so one can replace it here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import ahocorasick_rs

#: Words and phrases that make a post abuse rather than argument.
ABUSE = (
    "scum", "scumbag", "scumbags", "vermin", "parasite", "parasites", "filth", "filthy rats",
    "idiot", "idiots", "moron", "morons", "cretin", "cretins", "subhuman", "traitor",
    "traitors", "die", "hang them", "burn their house", "burn them", "kill yourself",
    "deserve to die", "should be shot", "string them up", "we know where you live",
)  # fmt: skip
_ABUSE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ABUSE) + r")\b", re.IGNORECASE)


def is_abusive(text: str) -> bool:
    """Whether a post contains abuse (an insult or a threat), as whole words.

    >>> is_abusive("Northmoor Water executives are scum, string them up #kestrelbay")
    True
    >>> is_abusive("Northmoor Water must answer for the Kestrel Bay spill")
    False
    >>> is_abusive("The diet of the fish changed")  # 'die' only as a whole word
    False
    """
    return _ABUSE.search(text) is not None


#: The lexicon's words as a plain automaton: a quiet bucket's ASCII texts, lowercased,
#: are looked at in one call, and `is_abusive` runs only if one of the words occurs at all.
_LEXICON = ahocorasick_rs.AhoCorasick([word.lower() for word in ABUSE])
_ASCII_LEXICON = all(word.isascii() for word in ABUSE)


def abusive_flags(texts: Sequence[str]) -> list[bool] | None:
    """`is_abusive` of each text, or None when none of them is (the usual quiet bucket).

    Exact: `is_abusive` matches a word of the lexicon case-insensitively, and in ASCII text
    that means the lowercased text contains it, which one pass of an automaton over all the
    texts joined tells for about the price of one regex search (~9 µs a post, the regex
    trying every alternative at every character). A non-ASCII text (where case folding
    reaches further, `ſ` matching `s`) or any occurrence of a word sends every text to
    `is_abusive` itself.

    >>> abusive_flags(["a fair point", "the council must answer"]) is None
    True
    >>> abusive_flags(["a fair point", "you IDIOTS"]), abusive_flags(["idiotic", "ok"])
    ([False, True], [False, False])
    """
    joined = "\n".join(texts)  # no word of the lexicon holds a line break, so none spans two
    if _ASCII_LEXICON and joined.isascii() and not _LEXICON.find_matches_as_indexes(joined.lower()):
        return None
    return [is_abusive(text) for text in texts]
