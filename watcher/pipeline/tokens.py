"""The tokens a matched post brings besides the issue terms: hashtags, content words, phrases.

These feed `detectors.novelty`, which picks out the ones a surge makes newly significant
(the alert's emerging terms). A token is a hashtag (`#trafigura`), a content word
(`guardian`, `carter-ruck`) or two adjacent content words (`question asked`). Stopwords,
numbers, @mentions, links and words under three letters are skipped, and a stopword breaks
a phrase, so "gag order on Parliament" gives `gag`, `order`, `parliament` and `gag order`.

Only matched posts are tokenised (about 5% of traffic), so this is one pass and a set: a
regex for text with links, mentions, tags or non-ASCII letters, and `str.translate` plus
`split` for the rest, which gives the regex's words exactly (`_plain_words`).

The stopword list is our own, short one. scikit-learn's `ENGLISH_STOP_WORDS` would need
scikit-learn at import (1.7 s, which the CLI avoids until a surge needs it), and it stops
words that matter here ("bill", "fire", "system").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import pairwise

from watcher.pipeline.matcher import normalise

#: English function words and social-media filler; a token must not be one of these.
STOPWORDS = frozenset(
    """
    about above after again against all also although always am among amp and another any
    anyone anything are aren't around because been before being below between both but
    can can't cannot could couldn't did didn't does doesn't doing don't done down during each
    either else even ever every everyone everything few for from further get gets getting
    got had hadn't has hasn't have haven't having her here hers herself him himself his how
    however i'd i'll i'm i've into isn't it's its itself just last least less let let's like
    made make many may maybe might mine more most much must my myself near need needs never
    new next nor not now off often once one only onto other others our ours ourselves out
    over own per please quite rather really said same say says see seems shall she she'll
    she's should shouldn't since some something still such than that that's the their theirs
    them themselves then there there's these they they'd they'll they're they've thing
    things this those though through thru till too under until upon very via was wasn't way
    we'd we'll we're we've well were weren't what what's when where where's whether which
    while who who's whom whose why will with within without won't would wouldn't yes yet you
    you'd you'll you're you've your yours yourself yourselves
    lol omg http https www com org today tonight yesterday tomorrow day days time times
    """.split()  # noqa: SIM905 (a word list reads best as words)
)

# A link or mention (skipped: group empty), a hashtag (group 1), or a word (group 2): a
# letter, then letters, digits, hyphens or apostrophes, ending on a letter or digit.
_TOKEN = re.compile(r"https?://\S+|@\S+|#(\w+)|([^\W\d_](?:[\w'-]*[^\W_])?)")
MIN_WORD = 3
#: ASCII characters that can be part of a word: every other one only separates words.
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_'-")
#: Every other ASCII character (uppercase too: a normalised text has none) as a space.
_SEPARATE = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _WORDISH})
#: What may come before a word's first letter, or after its last letter or digit.
_LEADING, _TRAILING = "0123456789_'-", "_'-"


def tokens_of(text: str, hashtags: Iterable[str] = ()) -> set[str]:
    """The post's distinct tokens: `#hashtags`, content words and adjacent-word phrases.

    `hashtags` are extra tags (without `#`) from the post's own field.

    >>> sorted(tokens_of("The Guardian is gagged over a super injunction! #Trafigura https://x.y"))
    ['#trafigura', 'gagged', 'guardian', 'injunction', 'super', 'super injunction']
    >>> sorted(tokens_of("Carter-Ruck's gag order: an MP's question", ["#FreeSpeech"]))
    ['#freespeech', 'carter-ruck', 'carter-ruck gag', 'gag', 'gag order', 'order', 'question']
    """
    found = {"#" + normalise(tag).lstrip("#") for tag in hashtags} if hashtags else set()
    norm = normalise(text)
    if norm.isascii() and "#" not in norm and "@" not in norm and "://" not in norm:
        words = _plain_words(norm)
    else:
        words = []
        for tag, word in _TOKEN.findall(norm):
            if tag:
                found.add("#" + tag)
            words.append(word)  # "" for a link, mention or tag: it breaks a phrase
    if "'" in norm:
        words = [word[:-2] if word.endswith("'s") else word for word in words]
    # a stopword or a short word breaks a phrase, like a link, mention or tag ("")
    kept = [word if len(word) >= MIN_WORD and word not in STOPWORDS else "" for word in words]
    found.update(kept)
    found.discard("")
    found.update([f"{a} {b}" for a, b in pairwise(kept) if a and b])
    return found


def _plain_words(norm: str) -> list[str]:
    """`_TOKEN`'s words in a normalised ASCII text without links, mentions or tags, in order.

    Exactly the regex's: a run of letters, digits, `_`, `'` and `-` holds one word at most,
    from its first letter to its last letter or digit (the regex starts a word at a letter
    and ends it on a letter or digit), and runs without a letter hold none. About twice as
    fast as the regex, which tries four alternatives at every character.

    >>> _plain_words("a 2nd-hand, '90s e-mail_ --- 42 x_y")
    ['a', 'nd-hand', 's', 'e-mail', 'x_y']
    """
    words = []
    for run in norm.translate(_SEPARATE).split():
        if not run.isalpha():
            run = run.lstrip(_LEADING).rstrip(_TRAILING)
            if not run:
                continue  # no letter: no word, and (unlike a link) no break in a phrase
        words.append(run)
    return words


def _key(token: str) -> str:
    """Letters and digits only, so `#superinjunction` and `super-injunction` are one key."""
    return "".join(ch for ch in normalise(token) if ch.isalnum())


class OwnTerms:
    """A playbook's own terms, which are never news to it: they are what it watches.

    A token is the playbook's own when its key is a term's key (`#gagorder`, `gag-order`),
    or when each of its words is a word of some term (`gag`, `toxic`, `dumping waste`).
    """

    def __init__(self, terms: Iterable[str]) -> None:
        words = [normalise(term).lstrip("#") for term in terms]
        self.keys = {_key(term) for term in words}
        self.words = {part for term in words for part in re.split(r"[\s-]+", term) if part}

    def __contains__(self, token: str) -> bool:
        if _key(token) in self.keys:
            return True
        parts = re.split(r"[\s-]+", token.lstrip("#"))
        return all(part in self.words for part in parts)


def pick_emerging(
    ranked: Iterable[tuple[str, float]], counts: Mapping[str, int], own: OwnTerms, limit: int
) -> tuple[str, ...]:
    """Up to `limit` of the ranked emerging tokens, told once each, in the reader's words.

    Drops the playbook's own terms; keeps one spelling per key (the best ranked of
    `#carterruck` and `carter-ruck`); and prefers a phrase to a word it nearly always
    comes in (`super injunction` over `super`), but keeps a word that is news on its own.

    >>> own = OwnTerms(["toxic waste"])
    >>> ranked = [("#carterruck", 30.0), ("super", 25.0), ("carter-ruck", 24.0),
    ...           ("super injunction", 22.0), ("waste", 20.0), ("guardian", 12.0)]
    >>> counts = {"super": 10, "super injunction": 9, "guardian": 5}
    >>> pick_emerging(ranked, counts, own, 3)
    ('#carterruck', 'super injunction', 'guardian')
    """
    ranked = list(ranked)
    phrases = [token for token, _ in ranked if " " in token]
    chosen: list[str] = []
    keys: set[str] = set()
    for token, _ in ranked:
        if token in own or _key(token) in keys:
            continue
        if " " not in token and any(
            token in phrase.split(" ") and counts.get(phrase, 0) >= 0.8 * counts.get(token, 0)
            for phrase in phrases
        ):
            continue  # said by the phrase that carries it
        chosen.append(token)
        keys.add(_key(token))
        if len(chosen) == limit:
            break
    return tuple(chosen)
