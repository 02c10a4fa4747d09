"""What people in a surge are asking for, and which offers meet it.

A post counts as asking when it reads like a request (a question, "need", "looking for",
"anyone know"…) and names a need: a venue, legal help, a contact, a way to act, materials.
Offers whose tags name that need go first, and say which request they meet and how often.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from responders.alert import BriefItem, Surge
from responders.params import Offer

#: Need → phrases that name it in a post. Offer tags use the need's name (or a synonym).
NEEDS: dict[str, tuple[str, ...]] = {
    "venue": (
        "venue", "meeting space", "meeting room", "somewhere to meet", "place to meet",
        "a room", "a hall", "space to meet", "where can we meet",
    ),
    "legal": (
        "lawyer", "legal", "solicitor", "legal advice", "is this legal", "is it legal",
        "my rights", "our rights", "court", "sue", "injunction",
    ),
    "contact": (
        "who do i contact", "who can i contact", "who do we contact", "who can i call",
        "who to call", "who to contact", "contact", "phone number", "helpline", "email",
        "get in touch", "talk to someone",
    ),
    "action": (
        "what can we do", "what can i do", "how can i help", "how do we help", "petition",
        "protest", "march", "organise", "organize", "get involved", "volunteer",
    ),
    "materials": ("leaflets", "banners", "posters", "printing", "placards", "flyers"),
}  # fmt: skip
SYNONYMS = {"legal help": "legal", "space": "venue", "room": "venue", "print": "materials"}
_ASKING = re.compile(
    r"\?|\b(need|needs|needed|looking for|anyone know|does anyone|can anyone|where can|"
    r"how do|who do|who can|help us|please help|recommend)\b",
    re.IGNORECASE,
)
_PATTERNS = {
    need: re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)
    for need, phrases in NEEDS.items()
}


def detect_requests(texts: Iterable[str]) -> Counter[str]:
    """How many posts ask for each need.

    >>> detect_requests(["Does anyone know a lawyer?", "We need a venue for Tuesday",
    ...                  "The court ruled today.", "who do I contact about this?"])
    Counter({'legal': 1, 'venue': 1, 'contact': 1})
    """
    asked: Counter[str] = Counter()
    for text in texts:
        if not _ASKING.search(text):
            continue
        for need, pattern in _PATTERNS.items():
            if pattern.search(text):
                asked[need] += 1
    return asked


def _need(tag: str) -> str:
    tag = tag.lower().strip()
    return SYNONYMS.get(tag, tag)


def rank_offers(surge: Surge, offers: Sequence[Offer]) -> tuple[BriefItem, ...]:
    """Offers that meet the most-asked needs first, each saying which request it meets."""
    texts = [*surge.texts, *(p.text for p in surge.samples)]
    asked = detect_requests(dict.fromkeys(texts))  # each distinct text once
    ranked = []
    for order, offer in enumerate(offers):
        met = sorted(
            {_need(t) for t in offer.tags if asked[_need(t)]}, key=lambda n: (-asked[n], n)
        )
        if met:
            why = "meets requests for " + ", ".join(
                f"{n} ({asked[n]} post{'' if asked[n] == 1 else 's'})" for n in met
            )
        elif offer.tags:
            why = "for: " + ", ".join(offer.tags)
        else:
            why = "offer"
        weight = sum(asked[n] for n in met)
        ranked.append((-weight, order, BriefItem(offer.title, why, detail=offer.detail)))
    return tuple(item for *_, item in sorted(ranked, key=lambda r: (r[0], r[1])))
