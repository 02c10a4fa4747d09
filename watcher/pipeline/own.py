"""The organisation's own voice: posts by its accounts, linking its domains, or resharing it.

A playbook's `watch.own_accounts` and `watch.own_domains` name what the organisation says
itself. Those posts are not a crowd, so the engine counts them apart (`posts_own_voice`)
instead of into buckets. Reshares are recognised by the ids of own posts the engine has
seen, in one set across playbooks (`remember`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from watcher.playbooks.model import Playbook
from watcher.post import Post, handle_key

#: Own-post ids remembered per engine, so reshares of them can be recognised.
MAX_OWN_IDS = 50_000


def own_handles(playbooks: Iterable[Playbook]) -> frozenset[str]:
    """Every playbook's own accounts, as `handle_key`s: whose post ids to remember."""
    return frozenset(handle_key(a) for p in playbooks for a in p.watch.own_accounts)


class OwnVoice:
    """One playbook's own accounts and domains: is a matched post the organisation's?"""

    __slots__ = ("accounts", "domains")

    def __init__(self, accounts: Sequence[str], domains: Sequence[str]) -> None:
        self.accounts = frozenset(handle_key(a) for a in accounts)
        self.domains = tuple(d.lower() for d in domains)

    @classmethod
    def of(cls, playbook: Playbook) -> OwnVoice:
        return cls(playbook.watch.own_accounts, playbook.watch.own_domains)

    def spoke(self, post: Post, own_ids: set[str]) -> bool:
        """Whether `post` is by an own account, reshares an own post or links an own domain."""
        if handle_key(post.author) in self.accounts:
            return True
        if post.reshare_of and post.reshare_of in own_ids:
            return True
        if self.domains:
            haystack = f"{post.url} {post.text}".lower()
            return any(domain in haystack for domain in self.domains)
        return False


def remember(own_ids: set[str], post_id: str) -> None:
    """Add an own post's id; past MAX_OWN_IDS start over (old posts are rarely reshared)."""
    if len(own_ids) >= MAX_OWN_IDS:
        own_ids.clear()
    own_ids.add(post_id)
