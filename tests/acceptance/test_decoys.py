"""What must not page, end to end through the engine, next to a crowd that must."""

from __future__ import annotations

from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import background, crowd, run
from watcher.playbooks.model import Playbook

SURGE = T0 + 6 * 3600


def news(playbook: Playbook, posts: list[dict[str, object]]) -> int:
    engine = run(playbook, posts)
    return sum(a.surge.kind == "new" for a in engine.drain_alerts())


def test_a_crowd_pages_once(mini_playbook: Playbook, make_post: PostFactory) -> None:
    assert news(mini_playbook, background(make_post, 6) + crowd(make_post, SURGE, 200)) == 1


def test_one_loud_account_does_not_page(mini_playbook: Playbook, make_post: PostFactory) -> None:
    flood = crowd(make_post, SURGE, 300)
    for post in flood:
        post["author"] = "angry@example.social"
    assert news(mini_playbook, background(make_post, 6) + flood) == 0


def test_a_handful_of_bots_do_not_page(mini_playbook: Playbook, make_post: PostFactory) -> None:
    flood = crowd(make_post, SURGE, 300)
    for n, post in enumerate(flood):
        post["author"] = f"bot{n % 5}@spam.example"
    assert news(mini_playbook, background(make_post, 6) + flood) == 0


def test_reshares_of_reshares_of_own_posts_do_not_page(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    own = make_post(SURGE, "Our toxic waste day of action", author="ngo@example.org", id="own1")
    chain: list[dict[str, object]] = []
    for i in range(300):
        target = "own1" if i < 20 else chain[i - 20]["id"]  # most reshare a supporter's reshare
        chain.append(
            make_post(
                SURGE + 1 + i * 2,
                "Our toxic waste day of action",
                author=f"supporter{i}",
                id=f"r{i}",
                reshare_of=target,
            )
        )
    engine = run(mini_playbook, [*background(make_post, 6), own, *chain])
    assert engine.drain_alerts() == []
    assert engine.stats.own_voice["waste"] == 301


def test_a_burst_in_an_unrelated_topic_does_not_page(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    other = [
        make_post(SURGE + i * 3, f"Penalties! What a cup final #football {i}", author=f"fan{i}")
        for i in range(400)
    ]
    engine = run(mini_playbook, background(make_post, 6) + other)
    assert engine.drain_alerts() == []
    assert engine.stats.matched["waste"] == 6 * 3


def test_the_alert_carries_the_campaign_signals(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    surge = crowd(make_post, SURGE, 200, source="bluesky")
    surge += crowd(make_post, SURGE + 120, 100, source="mastodon")
    for i, post in enumerate(surge[1:60]):
        post["reshare_of"] = surge[0]["id"] if i % 2 else surge[1]["id"]
    engine = run(mini_playbook, background(make_post, 6) + surge)
    alert = next(a for a in engine.drain_alerts() if a.surge.kind == "new").to_json()
    assert alert["onset"] <= alert["fired_at"]
    assert alert["distinct_authors"] >= 20
    assert alert["top_author_share"] < 0.25
    assert alert["rate_per_bucket"] > alert["baseline_per_bucket"]
    assert "#freepress" in alert["emerging_terms"]
    assert set(alert["sources"]) == {"bluesky", "mastodon"}
    assert alert["samples"][0]["id"] in {surge[0]["id"], surge[1]["id"]}


def test_a_ring_of_fifteen_accounts_does_not_page(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    """No account is above the top-share gate, but each repeats itself every few minutes."""
    flood = crowd(make_post, SURGE, 300)
    for n, post in enumerate(flood):
        post["author"] = f"ring{n % 15}@spam.example"
    assert news(mini_playbook, background(make_post, 6) + flood) == 0
