from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from watcher.cli import main
from watcher.simulation.suite import SUITE, generate_suite


def test_suite_covers_every_decoy_kind_and_several_surges() -> None:
    decoys = {name for name, case in SUITE.items() if case.kind == "decoy"}
    assert decoys == {
        "decoy-one-account",
        "decoy-few-accounts",
        "decoy-bot-ring",
        "decoy-own-campaign",
        "decoy-slow-growth",
        "decoy-excluded",
        "decoy-unrelated",
    }
    surges = [case for case in SUITE.values() if case.kind == "surge"]
    assert len({c.per_minute for c in surges}) >= 3  # sizes
    assert len({c.rise_minutes for c in surges}) >= 3  # speeds
    assert len({int(c.onset_hours % 24) for c in surges}) >= 5  # hours of the day
    assert SUITE["week-quiet"].hours == 24 * 7


def test_unknown_suite_name_is_named() -> None:
    with pytest.raises(ValueError, match="unknown suite scenario 'nope': choose from surge-"):
        generate_suite("nope")


def test_own_campaign_decoy_reshares_only_what_exists() -> None:
    seen: set[str] = set()
    for post in generate_suite("decoy-own-campaign"):
        if post.get("label") and post.get("reshare_of"):
            assert post["reshare_of"] in seen
        seen.add(str(post["id"]))


def test_cli_lists_and_writes_suite_scenarios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "trafigura" in listing
    assert "decoy-few-accounts" in listing
    out = tmp_path / "flood.ndjson"
    assert main(["simulate", "--scenario", "decoy-one-account", "--out", str(out)]) == 0
    labelled = [p for p in map(orjson.loads, out.read_bytes().splitlines()) if p.get("label")]
    assert {p["author"] for p in labelled} == {"loud0@mastodon.example"}
