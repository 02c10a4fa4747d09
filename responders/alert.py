"""What a responder is given: the facts of a surge plus the brief built for it.

Responders own this type; the watcher fills it in from the detector's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Kind = Literal["new", "update"]


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def utc(seconds: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime (the outbox stores times so)."""
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class SamplePost:
    id: str
    author: str
    text: str
    url: str = ""
    reshares: int = 0


@dataclass(frozen=True, slots=True)
class VoiceCandidate:
    """An account in the surge whose posts other people picked up.

    The watcher fills these in; `responders.brief.voices` decides who may be shown.
    """

    account: str
    engagers: int  # distinct people who reshared or replied to its posts in the surge
    posts: int  # its own posts in the surge
    followers: int | None = None  # as reported by the source, if it does
    seen_before: bool = False  # it posted on the issue before the surge began
    top_post_engagers: int = 0  # distinct engagers of its single most picked-up post
    url: str = ""
    #: Its posts on the issue outside surges, and the days from the first of them to the onset.
    topic_posts: int = 0
    topic_days: float = 0.0
    #: Share of its posts (before and in the surge) in its own words, not reshares.
    own_words: float = 1.0
    #: Share of its own-words posts (before and in the surge) that read as abuse.
    abusive: float = 0.0
    #: Days from the account's creation to the onset, if the source reports when it was made.
    account_age_days: float | None = None


@dataclass(frozen=True, slots=True)
class Surge:
    """The facts of a detected campaign at one moment of its life."""

    playbook: str
    campaign_id: str
    kind: Kind
    #: The lifecycle state: the watcher fills it from `detectors.campaign.State` (a plain str
    #: here, as responders do not import detectors).
    state: str
    fired_at: datetime
    onset: datetime
    terms: tuple[tuple[str, int], ...]
    posts: int
    distinct_authors: int
    top_author_share: float
    rate: float
    baseline: float
    score: float
    #: How fast the surge grows: the detector's `Decision.acceleration`.
    growth: float
    bucket_minutes: int
    emerging_terms: tuple[str, ...] = ()
    #: The playbook's terms that are significant against their own baseline, most first.
    surging_terms: tuple[str, ...] = ()
    sources: tuple[tuple[str, datetime], ...] = ()
    samples: tuple[SamplePost, ...] = ()
    voice_candidates: tuple[VoiceCandidate, ...] = ()
    #: Texts of posts in the surge (a bounded sample) for ranking and spotting requests.
    texts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BriefItem:
    """One line of the brief: what it is, where, and why it is listed for this surge."""

    title: str
    why: str
    url: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Brief:
    resources: tuple[BriefItem, ...] = ()
    voices: tuple[BriefItem, ...] = ()
    offers: tuple[BriefItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    surge: Surge
    brief: Brief = field(default_factory=Brief)
    #: The playbook's IANA time zone (`respond.timezone`), for local time beside UTC; "" for
    #: UTC only.
    timezone: str = ""

    def to_json(self) -> dict[str, Any]:
        """One line of the alerts NDJSON format."""
        s = self.surge
        return {
            "playbook": s.playbook,
            "campaign_id": s.campaign_id,
            "kind": s.kind,
            "state": s.state,
            "fired_at": rfc3339(s.fired_at),
            "onset": rfc3339(s.onset),
            "terms": [term for term, _ in s.terms],
            "term_counts": dict(s.terms),
            "posts": s.posts,
            "distinct_authors": s.distinct_authors,
            "top_author_share": round(s.top_author_share, 4),
            "rate_per_bucket": round(s.rate, 3),
            "baseline_per_bucket": round(s.baseline, 3),
            "score": round(s.score, 3),
            "growth": round(s.growth, 3),
            "bucket_minutes": s.bucket_minutes,
            "emerging_terms": list(s.emerging_terms),
            "surging_terms": list(s.surging_terms),
            "sources": {name: rfc3339(first) for name, first in s.sources},
            "samples": [
                {
                    "id": p.id,
                    "author": p.author,
                    "url": p.url,
                    "text": p.text,
                    "reshares": p.reshares,
                }
                for p in s.samples
            ],
            "resources": [_item(i) for i in self.brief.resources],
            "voices": [_item(i) for i in self.brief.voices],
            "offers": [_item(i) for i in self.brief.offers],
            **self._local_times(),
        }

    def _local_times(self) -> dict[str, str]:
        """With a time zone, the zone and the local times (only then: the format stays
        as it was for the playbooks that name none)."""
        if not self.timezone:
            return {}
        from zoneinfo import ZoneInfo  # the name was checked when the playbook loaded

        local = ZoneInfo(self.timezone)
        s = self.surge
        return {
            "timezone": self.timezone,
            "fired_at_local": s.fired_at.astimezone(local).isoformat(),
            "onset_local": s.onset.astimezone(local).isoformat(),
        }


def _item(item: BriefItem) -> dict[str, str]:
    out = {"title": item.title, "why": item.why}
    if item.url:
        out["url"] = item.url
    if item.detail:
        out["detail"] = item.detail
    return out
