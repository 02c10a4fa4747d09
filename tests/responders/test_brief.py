"""The brief: resources ranked for the surge, voices under the people-safety rule, offers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from responders.alert import SamplePost, VoiceCandidate
from responders.brief.brief import build_brief, rank_resources
from responders.brief.requests import detect_requests, rank_offers
from responders.brief.voices import exclusion, find_voices
from responders.params import Offer, Resource, RespondParams, Voice, VoiceDiscovery
from tests.responders.conftest import surge

RESOURCES = (
    Resource(title="Annual review 2023", url="https://ngo.example/annual", summary="Our year."),
    Resource(
        title="Toxic trade: how waste ships reach West Africa",
        url="https://ngo.example/ships",
        summary="Investigation into hazardous waste shipments and the Probo Koala.",
        tags=("toxic waste", "shipping"),
    ),
    Resource(
        title="What is a super-injunction?",
        url="https://ngo.example/gag",
        summary="Plain-English guide to gagging orders and what you may still say.",
        tags=("gag order", "legal"),
    ),
)


def test_resources_are_ranked_by_similarity_to_the_surge_with_reasons() -> None:
    s = replace(
        surge(),
        terms=(("gag order", 40), ("toxic waste", 3)),
        emerging_terms=("superinjunction",),
        texts=("A gagging order stops the Guardian reporting Parliament!",) * 5,
    )
    items = rank_resources(s, RESOURCES)
    assert [i.title for i in items] == [
        "What is a super-injunction?",
        "Toxic trade: how waste ships reach West Africa",
        "Annual review 2023",
    ]
    assert items[0].why == "covers gag order; matches gagging"
    assert items[1].why == "covers toxic waste"
    assert items[2].why == "ready to share on this issue"


def test_the_ranking_follows_the_surge_not_the_playbook_order() -> None:
    s = replace(
        surge(),
        terms=(("toxic waste", 40), ("gag order", 1)),
        samples=(SamplePost("1", "a", "Probo Koala dumped hazardous waste in Abidjan"),),
    )
    assert rank_resources(s, RESOURCES)[0].title.startswith("Toxic trade")


def test_requests_are_detected_only_when_people_ask() -> None:
    asked = detect_requests(
        [
            "We need a venue for Thursday's meeting, anyone?",
            "Does anyone know a housing lawyer?",
            "Is this notice even legal?",
            "The court case is on Monday.",  # news, not a request
            "Who do I contact about the eviction?",
        ]
    )
    assert asked == {"venue": 1, "legal": 2, "contact": 1}


def test_offers_meeting_what_people_ask_for_go_first_and_say_so() -> None:
    offers = (
        Offer(title="Print budget", tags=("materials",)),
        Offer(title="Advice line", tags=("legal", "contact")),
        Offer(title="Meeting room", tags=("venue",)),
    )
    s = replace(
        surge(),
        texts=(
            "Is this eviction legal? need a lawyer",
            "Can anyone recommend a solicitor?",
            "Where can we meet? Need a venue",
        ),
    )
    ranked = rank_offers(s, offers)
    assert [(o.title, o.why) for o in ranked] == [
        ("Advice line", "meets requests for legal (2 posts)"),
        ("Meeting room", "meets requests for venue (1 post)"),
        ("Print budget", "for: materials"),
    ]


RULE = VoiceDiscovery(min_engagers=5, min_followers=10_000, min_reshares=200, max_share=0.05)


def voice(account: str, **kw: object) -> VoiceCandidate:
    """A candidate with standing on every count, but for what `kw` changes."""
    base: dict[str, object] = {
        "engagers": 50,
        "posts": 2,
        "followers": 20_000,
        "seen_before": True,
        "top_post_engagers": 30,
        "topic_posts": 9,
        "topic_days": 44.0,
        "account_age_days": 900.0,
    }
    base.update(kw)
    return VoiceCandidate(account, **base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("candidate", "why"),
    [
        (voice("ngo@example.org"), "own or listed account"),
        (voice("@clinic@law.example"), "own or listed account"),
        (voice("flooder", posts=40), "flood account"),  # 40 of 600 posts
        (voice("few_engagers", engagers=3), "few engagers"),
        # a private person the surge is about: however viral, never named
        (voice("subject", engagers=5_000, followers=300, top_post_engagers=5_000), "little reach"),
        (voice("no_count", followers=None, engagers=900, posts=1), "little reach"),
        (voice("fresh", account_age_days=2.0), "new account"),
        (voice("one_post", topic_posts=1), "no standing before the surge"),
        (voice("since_yesterday", topic_days=1.0), "no standing before the surge"),
        (voice("newcomer", topic_posts=0, topic_days=0.0), "no standing before the surge"),
        (voice("resharer", own_words=0.1), "mostly reshares"),
        (voice("troll", abusive=0.6), "abusive"),
        (voice("reporter"), ""),
        (voice("unknown_age", account_age_days=None), ""),
        (voice("no_count_spread", followers=None, engagers=400, posts=6), ""),
    ],
)
def test_people_safety_rule_says_why_each_account_is_kept_out(
    candidate: VoiceCandidate, why: str
) -> None:
    skip = {"ngo@example.org", "clinic@law.example"}
    assert exclusion(candidate, RULE, 600, skip) == why


def test_two_posts_in_a_young_surge_are_no_flood() -> None:
    # at a first alert of ten posts, a voice's two are a fifth of them and still no flood
    assert exclusion(voice("early_voice", posts=2), RULE, 10, set()) == ""
    assert exclusion(voice("flooder", posts=4), RULE, 10, set()) == "flood account"


def test_found_voices_are_only_those_that_pass_with_their_reasons() -> None:
    candidates = (
        voice("subject", engagers=5_000, followers=300, top_post_engagers=5_000),
        voice("reporter@news.example", followers=52_000, engagers=140, topic_days=44.5),
        voice("ngo@example.org", followers=900_000),  # the organisation's own account
        voice("fresh", account_age_days=2.0, engagers=900),
        voice("troll", abusive=0.6, engagers=800),
        voice("@clinic@law.example", followers=80_000),  # already listed by the playbook
        voice("council@gov.example", topic_posts=4, topic_days=15.0),
    )
    s = replace(surge(), playbook="river-sewage", posts=600, voice_candidates=candidates)
    listed = (Voice(name="Media Law Clinic", handle="@clinic@law.example", why="free advice"),)
    found = find_voices(s, RULE, listed=listed, own_accounts=("ngo@example.org",))
    assert [(v.title, v.why) for v in found] == [
        (
            "reporter@news.example",
            "found in the surge: reshared or replied to by 140 people in this surge; has posted "
            "on river sewage 9 times over 6 weeks; 52,000 followers",
        ),
        (
            "council@gov.example",
            "found in the surge: reshared or replied to by 50 people in this surge; has posted "
            "on river sewage 4 times over 2 weeks; 20,000 followers",
        ),
    ]


def test_brief_lists_playbook_voices_first_then_found_ones() -> None:
    s = replace(surge(), posts=600, voice_candidates=(voice("reporter@news.example"),))
    respond = RespondParams(
        voices=(Voice(name="Jo", handle="@jo@x.example", why="broke the story"),),
        discover_voices=RULE,
    )
    brief = build_brief(s, respond)
    assert [v.title for v in brief.voices] == ["Jo", "reporter@news.example"]
    assert brief.voices[0].why == "in the playbook: broke the story"
    off = respond.model_copy(update={"discover_voices": RULE.model_copy(update={"enabled": False})})
    assert [v.title for v in build_brief(s, off).voices] == ["Jo"]
