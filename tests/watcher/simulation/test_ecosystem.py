"""The labelled accounts around each issue (`watcher.simulation.ecosystem`)."""

from __future__ import annotations

from collections import Counter

from watcher.simulation import ecosystem
from watcher.simulation.corpus import TOPICS
from watcher.simulation.generate import generate


def test_each_issue_has_dozens_of_voices_and_every_kind_of_never_name_account() -> None:
    for topic in TOPICS:
        labels = ecosystem.labels(topic, seed=0)
        kinds = Counter(label for label, _ in labels.values())
        assert kinds["voice"] >= 24
        roles = {role for label, role in labels.values() if label == "never"}
        assert roles == {"subject", "new account", "abusive", "reshare-only", "own account"}
    assert ecosystem.members("river-sewage", 0) == ecosystem.members("river-sewage", 0)
    assert ecosystem.members("river-sewage", 0) != ecosystem.members("river-sewage", 1)


def test_voices_post_on_the_issue_for_weeks_before_the_surge_and_join_it() -> None:
    posts = list(generate("sewage"))
    onset = "2009-10-12T12:40"
    labels = ecosystem.labels("river-sewage", seed=0)
    voices = {h for h, (label, _) in labels.items() if label == "voice"}
    before = [p for p in posts if p["author"] in voices and p["created_at"] < onset]
    assert min(p["created_at"] for p in before) < "2009-09-20"  # weeks of record
    joined = {p["author"] for p in posts if p.get("label") == "sewage" and p["author"] in voices}
    assert len(joined) >= 5
    subject = next(h for h, (_, role) in labels.items() if role == "subject")
    reshared = Counter(p.get("reshare_of") for p in posts if p.get("label") == "sewage")
    subject_posts = {p["id"] for p in posts if p["author"] == subject and p.get("label")}
    assert sum(reshared[i] for i in subject_posts) >= 20  # the surge is about them
    asks = Counter(p["asks"] for p in posts if p.get("asks"))
    assert set(asks) == {"contact", "legal", "venue", "action"}
    new = next(h for h, (_, role) in labels.items() if role == "new account")
    assert {p["author_created_at"] for p in posts if p["author"] == new} == {"2009-10-10T12:40:00Z"}
