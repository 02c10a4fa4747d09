"""Turn a surge and the playbook's `respond:` section into the three lists the team needs.

1. ready resources, ranked for this surge by TF-IDF similarity of their title, summary and
   tags to the surge's terms, emerging terms and posts, with the words that matched;
2. other authoritative voices: the playbook's, then voices found in the surge that pass the
   people-safety rule (`responders.brief.voices`);
3. offers of support, those meeting what people in the surge ask for first (`requests`).
"""

from __future__ import annotations

from collections.abc import Sequence

from responders.alert import Brief, BriefItem, Surge
from responders.brief.requests import detect_requests, rank_offers
from responders.brief.voices import find_voices, listed_voices
from responders.params import Resource, RespondParams

MAX_RESOURCES = 5
#: How many matched words explain a resource's place.
MAX_REASONS = 3
#: Weight of playbook tags that name what the surge is about, beside TF-IDF similarity.
TAG_WEIGHT = 0.3
#: Times a term surging against its own baseline is repeated in the surge's document.
SURGING_WEIGHT = 3


def surge_text(surge: Surge) -> str:
    """What the surge is about, as one document: terms weighted by count, those surging
    against their own baselines and the emerging ones again, the needs people ask for (a
    resource tagged `legal` meets a surge asking for a lawyer), then the posts."""
    top = max((n for _, n in surge.terms), default=1) or 1
    words = []
    for term, count in surge.terms:
        words += [term.lstrip("#")] * max(1, round(5 * count / top))
    words += [t.lstrip("#") for t in surge.surging_terms] * SURGING_WEIGHT
    words += [t.lstrip("#") for t in surge.emerging_terms] * 2
    for need, asked in detect_requests(dict.fromkeys(surge.texts)).items():
        words += [need] * asked
    words += [p.text for p in surge.samples]
    words += list(surge.texts)
    return "\n".join(words)


def _document(resource: Resource) -> str:
    return " ".join([resource.title, resource.summary, *resource.tags, *resource.tags])


def _tag_hits(resource: Resource, text: str) -> list[str]:
    lowered = text.lower()
    return [tag for tag in resource.tags if tag.lower().lstrip("#") in lowered]


def _tag_weight(tags: Sequence[str], surge: Surge) -> float:
    """How much of the surge the resource's matching tags stand for: a tag that is one of
    the surge's terms counts by that term's share of the top term, any other match a little."""
    counts = {term.lower().lstrip("#"): n for term, n in surge.terms}
    top = max(counts.values(), default=0) or 1
    return sum(counts.get(t.lower().lstrip("#"), 0.3 * top) / top for t in tags)


def load_ranker() -> None:
    """Import what `rank_resources` needs now rather than at the first surge.

    The import takes 1.5 s, which only a surge needs, not every CLI start-up; a process whose
    event loop must not stall that long mid-stream (a cluster worker renewing its leases)
    calls this once at start.
    """
    import sklearn.feature_extraction.text
    import sklearn.metrics.pairwise  # noqa: F401


def rank_resources(surge: Surge, resources: Sequence[Resource]) -> list[BriefItem]:
    """Resources most similar to the surge first; ties keep the playbook's order.

    >>> from datetime import UTC, datetime
    >>> now = datetime(2009, 10, 12, 21, 15, tzinfo=UTC)
    >>> surge = Surge("p", "p-1", "new", "emerging", now, now, (("gag order", 30),), 30, 25,
    ...               0.1, 30.0, 1.0, 9.0, 3.0, 5, ("carterruck",),
    ...               texts=("Carter-Ruck got a gag order on the Guardian",))
    >>> items = rank_resources(surge, (
    ...     Resource(title="Annual report", url="https://ex.example/a"),
    ...     Resource(title="Gag orders explained", url="https://ex.example/g",
    ...              summary="How the Guardian was gagged.", tags=("gag order",))))
    >>> [(i.title, i.why) for i in items]
    [('Gag orders explained', 'covers gag order; matches guardian'),
     ('Annual report', 'ready to share on this issue')]
    """
    if not resources:
        return []
    # scikit-learn takes 1.5 s to import; only a surge needs it, not every CLI start-up
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    query = surge_text(surge)
    docs = [_document(r) for r in resources]
    scores = [0.0] * len(resources)
    reasons: list[list[str]] = [[] for _ in resources]
    try:
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        matrix = vectorizer.fit_transform([*docs, query])
    except ValueError:  # nothing but stop words anywhere: keep the playbook's order
        matrix = None
    if matrix is not None:
        names = vectorizer.get_feature_names_out()
        q = matrix[len(docs)]
        scores = [float(s) for s in linear_kernel(q, matrix[: len(docs)])[0]]
        q_weights = dict(zip(q.indices, q.data, strict=True))
        for i in range(len(docs)):
            row = matrix[i]
            shared = [
                (w * q_weights[j], str(names[j]))
                for j, w in zip(row.indices, row.data, strict=True)
                if j in q_weights
            ]
            reasons[i] = [word for _, word in sorted(shared, reverse=True)[:MAX_REASONS]]
    items = []
    for i, resource in enumerate(resources):
        tags = _tag_hits(resource, query)
        parts = []
        if tags:
            parts.append("covers " + ", ".join(tags[:MAX_REASONS]))
        covered = " ".join(tags).lower()
        words = [w for w in reasons[i] if w not in covered]
        if words:
            parts.append("matches " + ", ".join(sorted(words)))
        why = "; ".join(parts) if parts else "ready to share on this issue"
        item = BriefItem(resource.title, why, url=str(resource.url), detail=resource.summary)
        items.append((-(scores[i] + TAG_WEIGHT * _tag_weight(tags, surge)), i, item))
    return [item for *_, item in sorted(items, key=lambda x: (x[0], x[1]))]


def build_brief(surge: Surge, respond: RespondParams, *, own_accounts: Sequence[str] = ()) -> Brief:
    """The brief for one surge: resources ranked for it, voices (listed, then found under
    the people-safety rule), and offers meeting what people ask for first.

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
    resources = tuple(rank_resources(surge, respond.resources)[:MAX_RESOURCES])
    voices = listed_voices(respond.voices) + find_voices(
        surge, respond.discover_voices, listed=respond.voices, own_accounts=own_accounts
    )
    offers = rank_offers(surge, respond.offers)
    return Brief(resources, voices, offers)
