"""Other authoritative voices: the playbook's list, plus accounts found in the surge.

People-safety rule. A found account is shown only if all of these hold:
- many distinct people reshared or replied to its posts in the surge (`min_engagers`);
- it spoke on the issue before the surge began (not someone swept up by it);
- it is not the organisation's own account and not a flood account (`max_share` of posts);
- it has public standing: listed in the playbook, or at least `min_followers` followers, or
  `min_reshares` distinct engagers across more than one post. One viral post by a private
  individual never qualifies, however far it travelled.
"""

from __future__ import annotations

from collections.abc import Sequence

from responders.alert import BriefItem, Surge, VoiceCandidate
from responders.params import Voice, VoiceDiscovery

#: How a voice's `why` starts: listed by the playbook, or found in the surge. Readers (the
#: console) group voices by it.
LISTED = "in the playbook: "
FOUND = "found in the surge: "

#: Above this share of its engagers on one post, an account's reach is one post's reach.
ONE_POST_SHARE = 0.8


def _norm(account: str) -> str:
    return account.lower().strip().lstrip("@")


def listed_voices(voices: Sequence[Voice]) -> tuple[BriefItem, ...]:
    return tuple(BriefItem(v.name, f"{LISTED}{v.why}", detail=v.handle) for v in voices)


def standing(candidate: VoiceCandidate, rule: VoiceDiscovery) -> str:
    """Why the account has public standing, or '' if it has none.

    >>> rule = VoiceDiscovery(min_followers=10_000, min_reshares=200)
    >>> standing(VoiceCandidate("a", engagers=900, posts=1, top_post_engagers=900), rule)
    ''
    >>> standing(VoiceCandidate("b", engagers=20, posts=2, followers=52_000), rule)
    '52,000 followers'
    """
    if candidate.followers is not None and candidate.followers >= rule.min_followers:
        return f"{candidate.followers:,} followers"
    spread = candidate.top_post_engagers <= ONE_POST_SHARE * candidate.engagers
    if candidate.engagers >= rule.min_reshares and candidate.posts >= 2 and spread:
        return f"picked up by {candidate.engagers:,} people across {candidate.posts} posts"
    return ""


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
    found = []
    for c in sorted(surge.voice_candidates, key=lambda c: (-c.engagers, c.account)):
        if _norm(c.account) in skip or not c.seen_before or c.engagers < rule.min_engagers:
            continue
        if surge.posts and c.posts / surge.posts > rule.max_share:
            continue  # a flood account: volume is not authority
        why = standing(c, rule)
        if not why:
            continue
        reason = (
            f"{FOUND}{c.engagers:,} people reshared or replied to its posts; "
            f"spoke on this issue before; {why}"
        )
        found.append(BriefItem(c.account, reason, url=c.url))
        if len(found) == rule.max_listed:
            break
    return tuple(found)
