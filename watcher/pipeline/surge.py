"""Alert assembly: a campaign's tally and the detector's decision become an `Alert`.

The facts (`Surge`): the terms counted and those surging against their own baselines, the
tokens newly emerging, the sources in order of arrival and sample posts. What the brief
needs about the surge's accounts (`VoiceCandidate`s, with their record on the issue) comes
from `watcher.pipeline.standing`. Deciding who may be shown is the responders' people-safety
rule (`responders.brief.voices`), not this module's. The brief itself is built by
`responders.brief.brief`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from detectors.campaign import Decision
from detectors.novelty import Novelty
from responders.alert import Alert, SamplePost, Surge
from responders.brief.brief import build_brief
from watcher.pipeline.buckets import Bucket, CampaignTally
from watcher.pipeline.standing import TopicHistory, voice_candidates
from watcher.pipeline.tokens import OwnTerms, pick_emerging
from watcher.playbooks.model import Playbook

#: Surging terms an alert names.
MAX_SURGING_TERMS = 5
#: Emerging terms an alert names.
MAX_EMERGING = 6
#: Sample posts an alert shows.
MAX_SAMPLES = 3
#: Post texts handed to the brief for ranking resources and spotting requests.
MAX_TEXTS = 300


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def build_alert(
    playbook: Playbook,
    decision: Decision,
    tally: CampaignTally,
    *,
    emerging: tuple[str, ...],
    history: TopicHistory,
    earlier: Sequence[Bucket] = (),
) -> Alert:
    """The alert for a lifecycle transition of the campaign `tally` has gathered, with brief."""
    pb = playbook
    width = pb.detect.bucket_minutes * 60.0
    surge = Surge(
        playbook=pb.name,
        campaign_id=f"{pb.name}-{_utc(tally.onset):%Y%m%d-%H%M}",
        kind="new" if decision.transition == "new" else "update",
        state=decision.state,
        fired_at=_utc(decision.start + width),
        onset=_utc(tally.onset),
        terms=tuple((pb.watch.terms[index], count) for index, count in tally.terms.most_common()),
        posts=tally.posts,
        distinct_authors=tally.distinct_authors,
        top_author_share=tally.top_author_share,
        rate=decision.rate,
        baseline=decision.baseline,
        score=decision.score,
        growth=decision.acceleration,
        bucket_minutes=pb.detect.bucket_minutes,
        emerging_terms=emerging,
        surging_terms=surging_terms(pb, decision),
        sources=tuple(sorted(((s, _utc(t)) for s, t in tally.sources.items()), key=lambda x: x[1])),
        samples=sample_posts(tally),
        voice_candidates=voice_candidates(tally, history, earlier),
        texts=surge_texts(tally),
    )
    brief = build_brief(surge, pb.respond, own_accounts=pb.watch.own_accounts)
    return Alert(surge, brief, timezone=pb.respond.timezone)


def surging_terms(playbook: Playbook, decision: Decision) -> tuple[str, ...]:
    """The terms significant against their own baselines in this bucket, most first."""
    needed = playbook.detect.thresholds.crowd_significance
    ranked = sorted(
        (
            (score, term)
            for term, score in zip(playbook.watch.terms, decision.term_scores, strict=False)
            if score >= needed
        ),
        reverse=True,
    )
    return tuple(term for _, term in ranked[:MAX_SURGING_TERMS])


def emerging_terms(
    novelty: Novelty, tally: CampaignTally, own_terms: OwnTerms, at: float
) -> tuple[str, ...]:
    """The tokens the surge made newly significant, the playbook's own terms left out."""
    ranked = novelty.emerging(tally.originals, tally.tokens, tally.token_support(), at)
    return pick_emerging(ranked, tally.tokens, own_terms, MAX_EMERGING)


def sample_posts(tally: CampaignTally) -> tuple[SamplePost, ...]:
    """The most-reshared posts whose original we saw; then the first posts, to make three."""
    samples = []
    for post_id, reshares in tally.reshares.most_common():
        original = tally.examples.get(post_id)
        if original is not None:
            samples.append(
                SamplePost(post_id, original.author, original.text, original.url, reshares)
            )
        if len(samples) == MAX_SAMPLES:
            break
    chosen = {s.id for s in samples}
    for post in tally.examples.values():
        if len(samples) == MAX_SAMPLES:
            break
        if post.id not in chosen:
            samples.append(SamplePost(post.id, post.author, post.text, post.url))
    return tuple(samples)


def surge_texts(tally: CampaignTally) -> tuple[str, ...]:
    """Distinct texts of the surge's first posts (originals and replies), for the brief."""
    texts = dict.fromkeys(post.text for post in tally.examples.values())
    return tuple(texts)[:MAX_TEXTS]
