"""Burst detection: pure, synchronous, no I/O and no clock.

Every detector is fed closed event-time buckets by its caller and returns scores and state.
A higher score always means burstier. Time is passed in, never read. `Detector`
(`detectors.base`) is the contract the watcher holds a detector by.
"""

from __future__ import annotations

from detectors.base import BucketStats, Detector
from detectors.campaign import STATES, CampaignDetector, Decision, State
from detectors.params import SENSITIVITY, DetectParams, Thresholds
from detectors.signitrend import SigniTrend

__all__ = [
    "SENSITIVITY",
    "STATES",
    "BucketStats",
    "CampaignDetector",
    "Decision",
    "DetectParams",
    "Detector",
    "SigniTrend",
    "State",
    "Thresholds",
]
