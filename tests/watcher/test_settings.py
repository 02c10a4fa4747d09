from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PLAYBOOKS
from watcher.cli import main
from watcher.service.stores import prepare_data_dir
from watcher.settings import (
    DATA_DIR_VARIABLE,
    DEFAULT_DATA_DIR,
    DEFAULT_PLAYBOOKS,
    Environment,
    HttpSettings,
    Settings,
    SettingsError,
    load_service_file,
    resolve,
)


def problems(path: Path) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_service_file(path)
    return list(info.value.problems)


def test_config_file_is_validated_with_clear_messages(tmp_path: Path) -> None:
    good = tmp_path / "service.yaml"
    good.write_text(
        "sources:\n  - reddit:environment\n  - {spec: 'rss:https://n.example/f', interval: 600}\n"
        "http: {port: 0}\nrecord: out.ndjson\n"
    )
    config = load_service_file(good)
    assert [e.spec for e in config.sources] == ["reddit:environment", "rss:https://n.example/f"]
    assert config.sources[1].interval == 600
    assert config.http.port == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - {spec: 'rss:x', interval: -1}\nhttp: {prot: 1}\n")
    assert problems(bad) == [
        f"{bad}:2:31: `sources[0].interval`: must be more than 0.0, got -1",
        f"{bad}:3:8: unknown key `prot` — did you mean `port`?",
    ]


def test_an_unknown_key_and_a_wrong_type_point_at_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "service.yaml"
    bad.write_text(
        "sources:\n"
        "  - reddit:environment\n"
        "  - spec: rss:https://n.example/f\n"
        "    intervall: 600\n"
        "http:\n"
        "  port: nine\n"
    )
    assert problems(bad) == [
        f"{bad}:4:5: unknown key `intervall` — did you mean `interval`?",
        f"{bad}:6:9: `http.port`: expected a whole number, got 'nine'",
    ]


def test_broken_yaml_and_a_missing_file_are_reported_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources: [\n")
    (problem,) = problems(broken)
    assert problem.startswith(f"{broken}:2:1: YAML syntax:")
    assert problems(tmp_path / "none.yaml") == [
        f"{tmp_path / 'none.yaml'}: cannot read: No such file or directory"
    ]
    listed = tmp_path / "list.yaml"
    listed.write_text("- reddit:environment\n")
    assert problems(listed) == [f"{listed}:1:1: expected a mapping with `sources:` at the top"]


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.write_text(
        "sources: [reddit:environment]\nhttp: {host: 0.0.0.0, port: 9200}\nrecord: a.ndjson\n"
    )
    file = load_service_file(path)
    settings = resolve(
        file,
        sources=["ingest"],
        flags={"http": {"port": 0}, "record": Path("b.ndjson"), "reload": False},
    )
    assert [e.spec for e in settings.sources] == ["ingest", "reddit:environment"]
    assert settings.http == HttpSettings(host="0.0.0.0", port=0)
    assert settings.record == Path("b.ndjson")
    assert settings.playbooks == (DEFAULT_PLAYBOOKS,)
    assert settings.watched() == ()
    defaults = resolve(None)
    assert defaults == Settings()
    assert (defaults.http.host, defaults.http.port, defaults.state) == ("127.0.0.1", 9108, None)
    assert defaults.watched() == (DEFAULT_PLAYBOOKS,)


def test_a_bad_flag_is_a_settings_error() -> None:
    with pytest.raises(SettingsError) as info:
        resolve(None, flags={"http": {"port": 70000}})
    assert info.value.problems == ("command line: `http.port`: must be at most 65535, got 70000",)


def test_the_environment_is_read_into_named_fields() -> None:
    env = Environment.read(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_API_URL": "", "MY_TOKEN": "t", "PATH": "/bin"}
    )
    assert env.slack_bot_token == "xoxb-1"
    assert env.slack_api_url == "https://slack.com/api/"  # empty counts as unset
    assert env.get("MY_TOKEN") == "t"
    assert env.get("UNSET") == ""


def test_settings_are_frozen_and_closed() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.drain_seconds = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="Extra inputs"):
        Settings.model_validate({"drain_secs": 1.0})


def test_run_reports_a_bad_config_and_a_bad_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: []\n")
    assert main(["run", "--config", str(bad)]) == 2
    assert capsys.readouterr().err == f"{bad}:1:10: `sources`: needs at least 1 entry\n"
    assert main(["run", "--source", "twitter:x"]) == 2
    assert "expected one of" in caplog.text


def test_the_data_directory_comes_from_the_environment_and_holds_state_and_outbox(
    tmp_path: Path,
) -> None:
    assert Environment.read({}).data_dir == DEFAULT_DATA_DIR == Path("data")
    env = Environment.read({DATA_DIR_VARIABLE: str(tmp_path / "a" / "b")})
    placed = resolve(None, sources=["file:x.ndjson"], env=env).in_data_dir()
    assert placed.state == tmp_path / "a" / "b" / "groundswell-state.sqlite"
    assert placed.outbox == tmp_path / "a" / "b" / "groundswell-outbox.sqlite3"
    given = resolve(None, flags={"state": tmp_path / "s.db"}, env=env).in_data_dir()
    assert given.state == tmp_path / "s.db"  # a file given explicitly stays where it was put
    prepare_data_dir(placed)
    assert (tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the write probe leaves nothing


def test_a_data_directory_that_cannot_be_created_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "posts.ndjson").write_text("")
    (tmp_path / "a-file").write_text("")
    folder = tmp_path / "a-file" / "data"  # under a regular file: fails even for root
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(folder))
    source = f"file:{tmp_path / 'posts.ndjson'}"
    assert main(["run", "--source", source, "--playbooks", str(PLAYBOOKS)]) == 2
    assert capsys.readouterr().err == (
        f"groundswell: data directory: {folder} ($GROUNDSWELL_DATA_DIR) cannot be created or "
        "written: Not a directory; set GROUNDSWELL_DATA_DIR to a writable directory or give "
        "--state and --outbox\n"
    )
    env = Environment.read(dict(os.environ))
    with pytest.raises(SettingsError):
        prepare_data_dir(resolve(None, sources=[source], env=env).in_data_dir())
    # with both files given elsewhere the data directory is not used, so not checked
    flags = {"state": tmp_path / "s.db", "outbox": tmp_path / "o.db"}
    prepare_data_dir(resolve(None, sources=[source], flags=flags, env=env).in_data_dir())
