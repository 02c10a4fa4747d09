from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MINI_PLAYBOOK
from watcher.playbooks.findings import PlaybookError
from watcher.playbooks.model import check_playbook, load_playbooks, parse_playbook


def problems(text: str) -> list[str]:
    """Every error and warning in `text`, as `groundswell check` prints them."""
    return [str(p) for p in check_playbook(text, "pb.yaml")[1]]


def test_valid_playbook_has_declared_defaults() -> None:
    playbook = parse_playbook(MINI_PLAYBOOK)
    assert playbook.name == "waste"
    assert playbook.detect.sensitivity == "medium"
    assert playbook.respond.slack is not None
    assert playbook.respond.slack.channel == "#alerts"


def test_unknown_key_points_at_the_key_and_suggests() -> None:
    text = MINI_PLAYBOOK.replace("respond:", "respnd:")
    assert problems(text) == ["pb.yaml:9:1: error: unknown key `respnd` — did you mean `respond`?"]


def test_nested_unknown_key() -> None:
    text = MINI_PLAYBOOK.replace("  exclude:", "  exclud:")
    assert problems(text) == ["pb.yaml:4:3: error: unknown key `exclud` — did you mean `exclude`?"]


def test_unknown_sensitivity_lists_the_choices() -> None:
    text = MINI_PLAYBOOK.replace("  warmup_hours: 2", "  sensitivity: extreme")
    assert problems(text) == [
        "pb.yaml:8:16: error: `detect.sensitivity`: 'extreme' is not one of low, medium, high"
    ]


def test_empty_term_and_wrong_type() -> None:
    text = MINI_PLAYBOOK.replace('"#dumpgate"]', '"  "]').replace(
        "warmup_hours: 2", "warmup_hours: soon"
    )
    assert problems(text) == [
        "pb.yaml:3:35: error: `watch.terms[2]`: empty term",
        "pb.yaml:8:17: error: `detect.warmup_hours`: expected a number, got 'soon'",
    ]


def test_bad_url_and_missing_key() -> None:
    text = MINI_PLAYBOOK.replace("https://ngo.example/report", "ngo report").replace(
        "name: waste\n", ""
    )
    found = problems(text)
    assert found[0] == "pb.yaml:1:1: error: `name`: required key is missing"
    assert found[1] == (
        "pb.yaml:11:40: error: `respond.resources[0].url`: 'ngo report' is not a web address; "
        "write it in full, https://…"
    )


def test_bad_indentation_is_a_syntax_error_with_position() -> None:
    text = "name: x\nwatch:\n  terms: [a]\n exclude: [b]\n"
    [message] = problems(text)
    assert message.startswith("pb.yaml:4:2: error: YAML syntax:")


def test_unsafe_tag_is_refused() -> None:
    text = "name: x\nwatch:\n  terms: !!python/object/apply:os.system [echo]\n"
    assert problems(text) == [
        "pb.yaml:3:10: error: unsafe or unknown tag "
        "'tag:yaml.org,2002:python/object/apply:os.system': playbooks hold plain data only"
    ]


def test_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    [message] = problems("\n".join(lines))
    assert "expands to more than 100,000 values, through aliases" in message


def test_duplicate_key_is_reported() -> None:
    text = MINI_PLAYBOOK + "name: again\n"
    assert problems(text) == ["pb.yaml:17:1: error: duplicate key `name`"]


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINI_PLAYBOOK)
    (tmp_path / "b.yaml").write_text(MINI_PLAYBOOK)
    with pytest.raises(PlaybookError) as info:
        load_playbooks([tmp_path])
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path / 'b.yaml'}:1:7: error: `name`: 'waste' is already used by "
        f"{tmp_path / 'a.yaml'}"
    ]


def test_example_playbooks_are_valid() -> None:
    from tests.conftest import PLAYBOOKS

    playbooks = load_playbooks([PLAYBOOKS])
    assert {p.name for p in playbooks} >= {"toxic-waste"}
    for playbook in playbooks:
        assert playbook.respond.resources, playbook.name
        assert playbook.respond.voices, playbook.name
        assert playbook.respond.offers, playbook.name
