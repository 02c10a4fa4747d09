"""The `respond:` section: channel selection and its error messages."""

from __future__ import annotations

import pytest

from responders.params import RespondParams, SlackParams
from watcher.playbooks.findings import PlaybookError
from watcher.playbooks.model import parse_playbook

BASE = "name: p\nwatch: {terms: [x]}\nrespond:\n"


def test_default_channels_are_the_console_plus_every_configured_section() -> None:
    assert RespondParams().selected() == ("console",)
    assert RespondParams(slack=SlackParams(channel="#a")).selected() == ("console", "slack")
    chosen = RespondParams(channels=("slack",), slack=SlackParams(channel="#a"))
    assert chosen.selected() == ("slack",)


def test_a_channel_without_its_section_is_a_clear_error() -> None:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(BASE + "  channels: [console, slack]\n", "p.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "p.yaml:4:3: error: `respond`: channels lists 'slack' but there is no `slack:` section; "
        "add one or remove 'slack'"
    ]


def test_unknown_channels_and_bad_env_names_are_rejected() -> None:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(BASE + "  channels: [pager]\n", "p.yaml")
    assert "'pager' is not one of console, slack, webhook, ndjson" in str(caught.value)
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(BASE + "  slack: {channel: '#a', webhook_url_env: 'my url'}\n", "p.yaml")
    assert "respond.slack.webhook_url_env" in str(caught.value)
