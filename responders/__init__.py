"""Responders: build the brief for a detected campaign and deliver it.

They never import `watcher` or `detectors`; their input is `responders.alert.Alert`.
"""

from __future__ import annotations

from responders.alert import Alert, Brief, BriefItem, SamplePost, Surge
from responders.base import Delivery, Job, OutboxResponder, Responder
from responders.brief.brief import build_brief
from responders.params import RespondParams

__all__ = [
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
]
