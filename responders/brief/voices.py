"""Other authoritative voices: the playbook's list, plus accounts found in the surge.

People-safety rule. A found account is shown only if all of these hold (`exclusion` says
which one fails):
- it is not the organisation's own account, nor already listed by the playbook;
- it is not a flood account (more than `max_share` of the surge's posts, and more than
  `FLOOD_POSTS`);
- many distinct people reshared or replied to its posts in the surge (`min_engagers`);
- it has reach: at least `min_followers` followers; a private person with few followers
  whom a surge is about is never named, however far their post travelled. Only where the
  source reports no follower count may `min_reshares` distinct engagers across more than
  one post stand in for it;
- it has standing on the issue: `min_topic_posts` posts on it outside any surge, the first
  at least `min_topic_days` before the onset (weeks of posts, not one, not yesterday);
- it is not a brand-new account (`min_account_days`, where the source says when it was made);
- it writes in its own words (`min_own_words`) and not abuse (`max_abusive`).
Each found voice says why it is listed: "reshared or replied to by 140 people in this surge;
has posted on river sewage 12 times over 6 weeks; 52,000 followers".
"""

from __future__ import annotations

from collections.abc import Sequence

from responders.alert import BriefItem, Surge, VoiceCandidate
from responders.params import Voice, VoiceDiscovery

#: How a voice's `why` starts: listed by the playbook, or found in the surge. Readers (the
#: console) group voices by it.
LISTED = "in the playbook: "
FOUND = "found in the surge: "

#: A flood account writes more than this many of the surge's posts, whatever its share: two
#: posts are a fifth of a ten-post surge at its first alert, and no flood.
FLOOD_POSTS = 3
#: Above this share of its engagers on one post, an account's reach is one post's reach.
ONE_POST_SHARE = 0.8


def _norm(account: str) -> str:
    return account.lower().strip().lstrip("@")


def listed_voices(voices: Sequence[Voice]) -> tuple[BriefItem, ...]:
    return tuple(BriefItem(v.name, f"{LISTED}{v.why}", detail=v.handle) for v in voices)


def reach(candidate: VoiceCandidate, rule: VoiceDiscovery) -> str:
    """How far the account reaches, or '' if not far enough to be named.

    >>> rule = VoiceDiscovery(min_followers=10_000, min_reshares=200)
    >>> reach(VoiceCandidate("a", engagers=900, posts=3, followers=300), rule)
    ''
    >>> reach(VoiceCandidate("b", engagers=20, posts=2, followers=52_000), rule)
    '52,000 followers'
    >>> reach(VoiceCandidate("c", engagers=400, posts=3, top_post_engagers=150), rule)
    'picked up across 3 posts'
    """
    if candidate.followers is not None:
        if candidate.followers >= rule.min_followers:
            return f"{candidate.followers:,} followers"
        return ""
    spread = candidate.top_post_engagers <= ONE_POST_SHARE * candidate.engagers
    if candidate.engagers >= rule.min_reshares and candidate.posts >= 2 and spread:
        return f"picked up across {candidate.posts} posts"
    return ""


def exclusion(
    candidate: VoiceCandidate, rule: VoiceDiscovery, surge_posts: int, skip: set[str]
) -> str:
    """Why the people-safety rule keeps this account out of the brief, or '' if it may be shown.

    >>> rule = VoiceDiscovery()
    >>> ok = VoiceCandidate("a", engagers=40, posts=2, followers=20_000, topic_posts=9,
    ...                     topic_days=40.0)
    >>> exclusion(ok, rule, 600, set()), exclusion(ok, rule, 600, {"a"})
    ('', 'own or listed account')
    """
    if _norm(candidate.account) in skip:
        return "own or listed account"
    if candidate.posts > max(FLOOD_POSTS, rule.max_share * surge_posts):
        return "flood account"  # volume is not authority
    if candidate.engagers < rule.min_engagers:
        return "few engagers"
    if not reach(candidate, rule):
        return "little reach"
    if (
        candidate.account_age_days is not None
        and candidate.account_age_days < rule.min_account_days
    ):
        return "new account"
    if candidate.topic_posts < rule.min_topic_posts or candidate.topic_days < rule.min_topic_days:
        return "no standing before the surge"
    if candidate.own_words < rule.min_own_words:
        return "mostly reshares"
    if candidate.abusive > rule.max_abusive:
        return "abusive"
    return ""


def _span(days: float) -> str:
    if days >= 14:
        return f"{int(days // 7)} weeks"
    return f"{int(days)} day{'' if int(days) == 1 else 's'}"


def reason(candidate: VoiceCandidate, rule: VoiceDiscovery, issue: str) -> str:
    """Why a found voice is listed, in words a campaign team can check.

    >>> c = VoiceCandidate("a", engagers=140, posts=2, followers=52_000, topic_posts=12,
    ...                    topic_days=44.5)
    >>> reason(c, VoiceDiscovery(), "river sewage")
    'reshared or replied to by 140 people in this surge; has posted on river sewage
    12 times over 6 weeks; 52,000 followers'
    """
    return (
        f"reshared or replied to by {candidate.engagers:,} people in this surge; "
        f"has posted on {issue} {candidate.topic_posts} times over "
        f"{_span(candidate.topic_days)}; {reach(candidate, rule)}"
    )


def find_voices(
    surge: Surge,
    rule: VoiceDiscovery,
    *,
    listed: Sequence[Voice] = (),
    own_accounts: Sequence[str] = (),
) -> tuple[BriefItem, ...]:
    """Accounts in the surge that may be shown, most picked-up first, each saying why."""
    if not rule.enabled or rule.max_listed == 0:
        return ()
    skip = {_norm(a) for a in own_accounts} | {_norm(v.handle) for v in listed if v.handle}
    issue = surge.playbook.replace("-", " ")
    found = []
    for c in sorted(surge.voice_candidates, key=lambda c: (-c.engagers, c.account)):
        if exclusion(c, rule, surge.posts, skip):
            continue
        found.append(BriefItem(c.account, FOUND + reason(c, rule, issue), url=c.url))
        if len(found) == rule.max_listed:
            break
    return tuple(found)
