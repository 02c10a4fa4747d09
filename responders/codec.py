"""A lossless JSON record of an `Alert`, so the outbox can store it before it is sent.

The NDJSON alerts format (`Alert.to_json`) is a contract for people and tools and leaves
things out; this record keeps every field, so what is sent after a restart is exactly what
was stored.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import orjson

from responders.alert import Alert, Brief, BriefItem, SamplePost, Surge, VoiceCandidate


def encode(alert: Alert) -> bytes:
    """The alert as JSON bytes; datetimes become RFC 3339 strings."""
    return orjson.dumps(asdict(alert))


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def decode(data: bytes | str) -> Alert:
    """The alert `encode` wrote.

    >>> from datetime import UTC
    >>> now = datetime(2024, 1, 1, tzinfo=UTC)
    >>> alert = Alert(Surge("p", "p-1", "new", "emerging", now, now, (("x", 1),), 1, 1, 1.0,
    ...               1.0, 0.5, 3.0, 2.0, 5, sources=(("mastodon", now),)))
    >>> decode(encode(alert)) == alert
    True
    """
    raw: dict[str, Any] = orjson.loads(data)
    s = raw["surge"]
    surge = Surge(
        playbook=s["playbook"],
        campaign_id=s["campaign_id"],
        kind=s["kind"],
        state=s["state"],
        fired_at=_time(s["fired_at"]),
        onset=_time(s["onset"]),
        terms=tuple((term, count) for term, count in s["terms"]),
        posts=s["posts"],
        distinct_authors=s["distinct_authors"],
        top_author_share=s["top_author_share"],
        rate=s["rate"],
        baseline=s["baseline"],
        score=s["score"],
        growth=s["growth"],
        bucket_minutes=s["bucket_minutes"],
        emerging_terms=tuple(s["emerging_terms"]),
        surging_terms=tuple(s.get("surging_terms", ())),
        sources=tuple((name, _time(first)) for name, first in s["sources"]),
        samples=tuple(SamplePost(**p) for p in s["samples"]),
        voice_candidates=tuple(VoiceCandidate(**v) for v in s.get("voice_candidates", ())),
        texts=tuple(s.get("texts", ())),
    )
    b = raw["brief"]
    brief = Brief(
        resources=tuple(BriefItem(**i) for i in b["resources"]),
        voices=tuple(BriefItem(**i) for i in b["voices"]),
        offers=tuple(BriefItem(**i) for i in b["offers"]),
    )
    return Alert(surge, brief, timezone=raw.get("timezone", ""))
