"""Each responders package states its public names in `__all__`, and they are all there.

Like httpx's tests/test_exported_members.py: a name added to or dropped from a package's
public API shows up here as a diff, so it is a decision rather than an accident.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC = {
    "responders": [
        "Alert",
        "Brief",
        "BriefItem",
        "Delivery",
        "Job",
        "OutboxResponder",
        "RespondParams",
        "Responder",
        "SamplePost",
        "Surge",
        "build_brief",
    ],
    "responders.brief": [
        "build_brief",
        "detect_requests",
        "find_voices",
        "rank_offers",
        "rank_resources",
    ],
    "responders.channels": [
        "ConsoleResponder",
        "NdjsonResponder",
        "WebhookResponder",
        "dump_alert",
        "render",
        "sign",
    ],
    "responders.delivery": [
        "Dispatcher",
        "Feedback",
        "FeedbackAction",
        "Outbox",
        "RetrySchedule",
        "Tally",
    ],
    "responders.slack": [
        "Click",
        "ClickError",
        "Message",
        "SlackResponder",
        "SlackWebhookResponder",
        "apply_click",
        "check_limits",
        "parse_click",
        "top_message",
        "update_message",
    ],
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_all_is_pinned_and_every_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == PUBLIC[package]
    assert all(hasattr(module, name) for name in module.__all__)


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_every_public_non_module_member_is_in_all(package: str) -> None:
    module = importlib.import_module(package)
    members = {
        name
        for name in dir(module)
        if not name.startswith("_")
        and not inspect.ismodule(getattr(module, name))
        and name not in {"annotations", "importlib", "TYPE_CHECKING", "Any"}
    }
    assert members == set(module.__all__)
