"""Emerging terms: what a surge brings besides the playbook's own terms, from its first alert."""

from __future__ import annotations

from collections import Counter

import orjson

from tests.conftest import PLAYBOOKS
from watcher.pipeline.buckets import Bucket, CampaignTally
from watcher.pipeline.engine import Engine
from watcher.pipeline.tokens import OwnTerms, pick_emerging, tokens_of
from watcher.playbooks.model import load_playbooks
from watcher.post import post_from_json
from watcher.simulation.generate import generate


def test_the_trafigura_story_first_alert_names_the_new_tags_not_the_playbook_terms() -> None:
    playbooks = [p for p in load_playbooks([PLAYBOOKS]) if p.name == "toxic-waste"]
    engine = Engine(playbooks)
    # everything up to the first wave's peak: the `new` alert comes about 21:15
    lines = []
    for post in generate("trafigura"):
        if post["created_at"] >= "2009-10-12T22:00":
            break
        lines.append(orjson.dumps(post))
    engine.feed_lines(lines)
    new = [a.surge for a in engine.drain_alerts() if a.surge.kind == "new"]
    assert len(new) == 1
    emerging = new[0].emerging_terms
    assert "#trafigura" in emerging
    own = OwnTerms(playbooks[0].watch.terms)
    assert not [term for term in emerging if term in own]
    assert not {"toxic", "waste", "#toxictrade", "superinjunction"} & set(emerging)


def test_tokens_are_counted_once_a_post_with_their_distinct_authors() -> None:
    bucket = Bucket(0.0)
    text = "Guardian gagged! The Guardian, gagged. #Trafigura #trafigura"
    for n in range(3):
        bucket.add(post_from_json(_post(n, text, "ann")), (0,), 0.0)
    bucket.add(post_from_json(_post(9, text, "bob")), (0,), 0.0)
    bucket.add(post_from_json(_post(10, "RT: " + text, "cat", reshare_of="1")), (0,), 0.0)
    assert bucket.tokens["guardian"] == 4  # once per post; the reshare brings no words
    assert bucket.tokens["#trafigura"] == 4
    assert bucket.originals == 4
    tally = CampaignTally(0.0)
    tally.absorb(bucket)
    tally.absorb(bucket)
    assert tally.tokens["guardian gagged"] == 8
    assert tally.token_support()["#trafigura"] == 2  # ann and bob
    assert tally.token_support()["guardian"] == 1  # two people, but one wording


def test_tokens_skip_stopwords_mentions_links_and_numbers() -> None:
    tokens = tokens_of(
        "@jo@news.example 100 posts about the gag at https://x.example/a #Free_Press"
    )
    assert tokens == {"posts", "gag", "#free_press"}


def test_own_terms_cover_their_words_spellings_and_tags() -> None:
    own = OwnTerms(["gag order", "super-injunction", "#toxictrade", "Basel Convention"])
    mine = ["gag", "order", "gag order", "#gagorder", "superinjunction", "#superinjunction"]
    mine += ["super injunction", "injunction", "toxictrade", "#toxictrade", "basel"]
    for token in mine:
        assert token in own, token
    for token in ("gagged", "parliament", "#trafigura", "toxic", "gag lifted"):
        assert token not in own, token


def test_pick_emerging_prefers_phrases_and_says_each_thing_once() -> None:
    counts = Counter({"carter-ruck": 10, "#carterruck": 30, "streisand": 9, "streisand effect": 9,
                      "effect": 12, "gag": 40})  # fmt: skip
    ranked = [("#carterruck", 90.0), ("gag", 80.0), ("streisand", 40.0), ("carter-ruck", 35.0),
              ("effect", 30.0), ("streisand effect", 29.0)]  # fmt: skip
    picked = pick_emerging(ranked, counts, OwnTerms(["gag order"]), limit=5)
    assert picked == ("#carterruck", "effect", "streisand effect")


def _post(n: int, text: str, author: str, **extra: str) -> dict[str, object]:
    post: dict[str, object] = {"id": str(n), "author": author, "text": text}
    post["created_at"] = "2009-10-12T21:00:00Z"
    post.update(extra)
    return post
