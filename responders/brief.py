"""Turn a surge and the playbook's `respond:` section into the three lists the team needs.

1. ready resources to share, 2. other authoritative voices to amplify, 3. offers of support.
"""

from __future__ import annotations

from responders.alert import Brief, BriefItem, Surge
from responders.params import RespondParams

MAX_RESOURCES = 5


def _overlap(tags: tuple[str, ...], surge_words: set[str]) -> list[str]:
    return [t for t in tags if t.lower() in surge_words]


def build_brief(surge: Surge, respond: RespondParams) -> Brief:
    """The brief for one surge: each list in the playbook's order, resources that share a
    tag with the surge's terms first.

    >>> from datetime import UTC, datetime
    >>> from responders.params import Resource
    >>> now = datetime(2009, 10, 12, 21, 15, tzinfo=UTC)
    >>> surge = Surge("p", "p-1", "new", "emerging", now, now, (("gag order", 30),), 30, 25,
    ...               0.1, 30.0, 1.0, 9.0, 3.0, 5, ("carterruck",))
    >>> respond = RespondParams(resources=(
    ...     Resource(title="Annual report", url="https://ex.example/a"),
    ...     Resource(title="Gag orders explained", url="https://ex.example/g",
    ...              tags=("gag order",))))
    >>> [r.title for r in build_brief(surge, respond).resources]
    ['Gag orders explained', 'Annual report']
    """
    words = {term.lower() for term, _ in surge.terms} | {t.lower() for t in surge.emerging_terms}
    scored = []
    for order, resource in enumerate(respond.resources):
        shared = _overlap(resource.tags, words)
        why = f"covers {', '.join(shared)}" if shared else "ready to share on this issue"
        item = BriefItem(resource.title, why, url=str(resource.url), detail=resource.summary)
        scored.append((-len(shared), order, item))
    resources = tuple(item for *_, item in sorted(scored, key=lambda s: (s[0], s[1])))
    voices = tuple(BriefItem(v.name, v.why, detail=v.handle) for v in respond.voices)
    offers = tuple(
        BriefItem(o.title, f"for: {', '.join(o.tags)}" if o.tags else "offer", detail=o.detail)
        for o in respond.offers
    )
    return Brief(resources[:MAX_RESOURCES], voices, offers)
