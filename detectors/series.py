"""Score a bare count series (NAB format) with the default campaign detector."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

from detectors.base import BucketStats
from detectors.campaign import CampaignDetector
from detectors.params import DetectParams, Sensitivity


def score_series(
    rows: Sequence[tuple[float, float]], sensitivity: Sensitivity = "medium"
) -> list[float]:
    """Anomaly scores in [0, 1], causal; ≥ 0.5 exactly where the detector alerts."""
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(rows) if b[0] > a[0]]
    minutes = max(1, min(60, round(statistics.median(gaps) / 60))) if gaps else 5
    detector = CampaignDetector(DetectParams(sensitivity=sensitivity, bucket_minutes=minutes))
    threshold = detector.thresholds.significance
    scores = []
    for ts, value in rows:
        decision = detector.update(BucketStats(ts, round(value)))
        squashed = 1.0 / (1.0 + math.exp(-(decision.score - threshold) / 2.0))
        if decision.transition == "new":
            scores.append(max(0.5, squashed))
        else:
            scores.append(min(squashed, 0.499))
    return scores
