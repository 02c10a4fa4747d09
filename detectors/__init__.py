"""Burst detection: pure, synchronous, no I/O and no clock.

Every detector is fed closed event-time buckets by its caller and returns scores and state.
A higher score always means burstier. Time is passed in, never read.
"""

from __future__ import annotations

from detectors.campaign import BucketStats, CampaignDetector, Decision
from detectors.params import SENSITIVITY, DetectParams, Thresholds
from detectors.signitrend import SigniTrend

__all__ = [
    "SENSITIVITY",
    "BucketStats",
    "CampaignDetector",
    "Decision",
    "DetectParams",
    "SigniTrend",
    "Thresholds",
]
