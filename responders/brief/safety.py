"""Which posts read as abuse, for the people-safety rule: an abusive account is never named.

A small lexicon of insults and threats, matched as whole words. It is a floor, not a
classifier: it catches the plain abuse a pile-on is made of ("scum", "vermin", "burn their
house down") and misses sarcasm and coded slurs, so it only ever removes accounts from the
brief, never adds one. A trained toxicity model would do better and needs weights this
project does not ship; the rule reads `is_abusive`, so one can replace it here.
"""

from __future__ import annotations

import re

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
