"""The organisation's own voice (`watcher.pipeline.own`): accounts, domains, reshares."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.pipeline.own import MAX_OWN_IDS, OwnVoice, own_handles, remember
from watcher.playbooks.model import Playbook
from watcher.post import Post, handle_key

AT = datetime(2024, 3, 4, tzinfo=UTC)


def post(author: str, text: str = "toxic waste", *, url: str = "", reshare_of: str = "") -> Post:
    return Post("p1", author, text, AT, url=url, reshare_of=reshare_of)


def test_handles_compare_without_case_or_leading_at() -> None:
    assert handle_key("@NGO@Example.org") == handle_key("ngo@example.org") == "ngo@example.org"


def test_own_accounts_domains_and_reshares_are_own_voice() -> None:
    own = OwnVoice(["@NGO@Example.org"], ["NGO.example"])
    assert own.spoke(post("ngo@example.org"), set())
    assert own.spoke(post("@Ngo@example.org"), set())
    assert own.spoke(post("fan", url="https://ngo.example/report"), set())
    assert own.spoke(post("fan", "read https://NGO.example/x"), set())
    assert own.spoke(post("fan", reshare_of="own1"), {"own1"})
    assert not own.spoke(post("fan", reshare_of="other"), {"own1"})
    assert not own.spoke(post("fan"), set())


def test_the_engine_remembers_every_playbooks_own_accounts(mini_playbook: Playbook) -> None:
    assert own_handles([mini_playbook]) == {handle_key(a) for a in mini_playbook.watch.own_accounts}
    assert OwnVoice.of(mini_playbook).accounts == own_handles([mini_playbook])


def test_remembered_ids_are_bounded() -> None:
    ids: set[str] = set()
    for i in range(MAX_OWN_IDS + 1):
        remember(ids, str(i))
    assert ids == {str(MAX_OWN_IDS)}
