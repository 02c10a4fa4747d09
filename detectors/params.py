"""The `detect:` section of a playbook, declared and validated here because detectors read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Sensitivity = Literal["low", "medium", "high"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What one sensitivity level means in numbers.

    `significance` is the SigniTrend score (standard deviations above the baseline, with the
    noise floor β) that a bucket must reach; `min_authors` is how many distinct people must
    carry the surge in that bucket; `max_top_share` is the largest share of matched posts one
    account may have before the surge counts as one loud voice rather than a crowd.
    """

    significance: float
    min_authors: int
    max_top_share: float


# Calibrated on the development data (see bench/); `medium` is the default.
SENSITIVITY: dict[str, Thresholds] = {
    "low": Thresholds(significance=8.0, min_authors=12, max_top_share=0.2),
    "medium": Thresholds(significance=6.0, min_authors=8, max_top_share=0.25),
    "high": Thresholds(significance=4.0, min_authors=5, max_top_share=0.34),
}


class DetectParams(BaseModel):
    """How bursts in this playbook's issue area are detected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitivity: Sensitivity = Field(
        default="medium",
        description=(
            "How readily a surge pages the team: `low` pages only on large, clear surges, "
            "`high` pages on smaller ones and sooner, at the cost of more false alarms."
        ),
    )
    bucket_minutes: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Length of one counting bucket, in minutes of event time.",
    )
    half_life_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="How fast the baseline forgets: half its weight is older than this.",
    )
    warmup_hours: float = Field(
        default=12.0,
        ge=0,
        le=24 * 30,
        description="Event time to learn the baseline before any alert can fire.",
    )
    noise_floor: float = Field(
        default=2.0,
        gt=0,
        description=(
            "β: the smallest count per bucket that is treated as meaningful. Keeps a rare "
            "term from paging on its first two mentions."
        ),
    )
    cooldown_hours: float = Field(
        default=6.0,
        ge=0,
        description="After a campaign is over, how long before a re-ignition counts as new.",
    )

    @property
    def thresholds(self) -> Thresholds:
        return SENSITIVITY[self.sensitivity]
