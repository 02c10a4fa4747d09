"""Alert assembly (`watcher.pipeline.surge`): the brief gets voice candidates, who was picked
up and who spoke before, and the surge's texts."""

from __future__ import annotations

from tests.conftest import T0, PostFactory
from tests.watcher.pipeline.test_engine import background, crowd, run
from watcher.playbooks.model import Playbook


def test_engine_collects_voice_candidates_and_texts(
    mini_playbook: Playbook, make_post: PostFactory
) -> None:
    start = T0 + 6 * 3600
    # a reporter who wrote about the issue in the quiet hours, then is picked up in the surge
    early = [
        make_post(T0 + h * 3600, "toxic waste report", author="reporter", author_followers=40_000)
        for h in (1, 2, 3)
    ]
    story = make_post(
        start, "Gag order on toxic waste!", author="reporter", id="story", author_followers=40_000
    )
    viral = make_post(start + 5, "toxic waste everywhere", author="stranger", id="viral")
    reshares = crowd(make_post, start + 10, 60, reshare_of="story")
    replies = [
        make_post(start + 20 + i, "toxic waste? I agree", author=f"fan{i}", reply_to="viral")
        for i in range(30)
    ]
    posts = [*background(make_post, 6), *early, story, viral, *reshares, *replies]
    # the quiet hours stand in for the weeks of record a real deployment has seen
    rule = mini_playbook.respond.discover_voices.model_copy(update={"min_topic_days": 0.1})
    respond = mini_playbook.respond.model_copy(update={"discover_voices": rule})
    playbook = mini_playbook.model_copy(update={"respond": respond})
    engine = run(playbook, [*posts, *crowd(make_post, start + 300, 200)])
    new = next(a for a in engine.drain_alerts() if a.surge.kind == "new")
    by_account = {c.account: c for c in new.surge.voice_candidates}
    reporter, stranger = by_account["reporter"], by_account["stranger"]
    assert (reporter.engagers, reporter.followers, reporter.seen_before) == (60, 40_000, True)
    assert reporter.top_post_engagers == 60
    assert (reporter.topic_posts, round(reporter.topic_days, 2)) == (3, 0.21)
    assert (stranger.engagers, stranger.seen_before, stranger.topic_posts) == (30, False, 0)
    assert "Gag order on toxic waste!" in new.surge.texts
    # the reporter has standing (followers) and spoke before: listed; the stranger is not
    assert [v.title for v in new.brief.voices] == ["Jo Reporter", "reporter"]
