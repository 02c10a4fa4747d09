"""Golden Slack messages for every example playbook.

A change to the rendering shows up as a diff of `tests/responders/snapshots/*.json`.
Regenerate them after an intended change with:

    GROUNDSWELL_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/responders/test_snapshots.py
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from responders.alert import Alert, SamplePost, VoiceCandidate
from responders.brief.brief import build_brief
from responders.delivery.feedback import Feedback
from responders.slack.blocks import check_limits, top_message, update_message
from tests.conftest import PLAYBOOKS
from tests.responders.conftest import HOSTILE, surge
from watcher.playbooks.model import Playbook, load_playbooks

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("GROUNDSWELL_UPDATE_SNAPSHOTS") == "1"
EXAMPLES = load_playbooks([PLAYBOOKS])


def example_alert(playbook: Playbook) -> Alert:
    """A fixed surge in the playbook's issue area, with hostile text and people asking."""
    terms = playbook.watch.terms
    s = replace(
        surge(),
        playbook=playbook.name,
        campaign_id=f"{playbook.name}-20091012-2120",
        posts=600,
        terms=tuple((t, 90 // (i + 1)) for i, t in enumerate(terms[:4])),
        emerging_terms=("<!here>", "solidarity"),
        samples=(
            SamplePost(
                "1",
                "nightdesk@m.example",
                f"Why is nobody talking about {terms[0]}?",
                "https://m.example/@nightdesk/1",
                320,
            ),
            SamplePost("2", "<@U999> mallory", HOSTILE, "javascript:alert(1)"),
            SamplePost(
                "3",
                "ana@m.example",
                f"Who do I contact about {terms[1]}? Need a lawyer",
                "https://m.example/@ana/3",
            ),
        ),
        texts=(f"We need a venue to meet about {terms[0]}", "Is this legal? anyone know?"),
        voice_candidates=(
            VoiceCandidate(
                "reporter@news.example", 120, 3, 52_000, True, 70, topic_posts=14, topic_days=44.0
            ),
            # a private person the surge is about, however long they posted: never named
            VoiceCandidate(
                "private_person@m.example",
                5_000,
                1,
                200,
                True,
                5_000,
                topic_posts=30,
                topic_days=90.0,
            ),
        ),
    )
    return Alert(s, build_brief(s, playbook.respond, own_accounts=playbook.watch.own_accounts))


def rendered(playbook: Playbook) -> bytes:
    alert = example_alert(playbook)
    acked = (Feedback("ack", "U0ACK", "rosa"),)
    top = top_message(alert, acked, link_template="https://dash.example/c/{campaign_id}")
    update = update_message(
        replace(alert, surge=replace(alert.surge, kind="update", state="peaked"))
    )
    data = {
        "top": {"text": top.text, "blocks": top.blocks},
        "update": {"text": update.text, "blocks": update.blocks},
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


@pytest.mark.parametrize("playbook", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_rendered_message_matches_its_snapshot(playbook: Playbook) -> None:
    path = SNAPSHOTS / f"{playbook.name}.json"
    got = rendered(playbook)
    if UPDATE:
        path.write_bytes(got)
    assert path.is_file(), f"no snapshot {path.name}: run with GROUNDSWELL_UPDATE_SNAPSHOTS=1"
    assert got.decode() == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if intended, regenerate with GROUNDSWELL_UPDATE_SNAPSHOTS=1"
    )
    message = orjson.loads(got)
    assert check_limits(message["top"]["blocks"]) == []
    assert "<!here>" not in got.decode()
    assert "private_person" not in got.decode()  # one viral post is not standing


def test_every_example_playbook_has_a_snapshot_and_no_stale_ones() -> None:
    assert {p.stem for p in SNAPSHOTS.glob("*.json")} == {p.name for p in EXAMPLES}
