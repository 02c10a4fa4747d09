"""Campaign tallies: what a campaign remembers must not depend on the process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from watcher.pipeline.buckets import MAX_TOKENS, CampaignTally, note_voices

_TALLY_NEAR_THE_CAP = textwrap.dedent(
    f"""
    from watcher.pipeline.buckets import CampaignTally, note_voices
    tally = CampaignTally(onset=0.0)
    for i in range({MAX_TOKENS} - 5):
        note_voices(tally, {{f"t{{i:04d}}"}}, "regular")
    note_voices(tally, {{f"new{{i:02d}}" for i in range(40)}}, "newcomer")
    print(" ".join(sorted(t for t in tally.token_authors if t.startswith("new"))))
    """
)


def test_which_tokens_fit_under_the_cap_does_not_depend_on_the_hash_seed() -> None:
    # A replay and a cluster worker run in different processes, so with different hash
    # seeds: a set of strings iterates in a different order in each.
    remembered = set()
    for seed in range(6):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        out = subprocess.run(
            [sys.executable, "-c", _TALLY_NEAR_THE_CAP],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        remembered.add(out.stdout.strip())
    assert len(remembered) == 1
    assert len(remembered.pop().split()) == 5  # the room left under the cap, no more


def test_a_token_seen_before_the_cap_keeps_counting_voices_after_it() -> None:
    tally = CampaignTally(onset=0.0)
    note_voices(tally, {"early"}, "a")
    for i in range(MAX_TOKENS):
        note_voices(tally, {f"t{i:04d}"}, "b")
    note_voices(tally, {"early", "late"}, "c")
    assert tally.token_authors["early"] == {"a", "c"}
    assert "late" not in tally.token_authors
    assert len(tally.token_authors) == MAX_TOKENS
