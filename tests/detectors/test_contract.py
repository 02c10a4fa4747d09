"""The `detectors.base.Detector` contract, checked over every detector that implements it.

Like river's `checks/common.py` run by `test_estimators.py`: each check is a function of a
fresh detector, parametrized over detector × check with ids `"{detector}:{check}"`.
"""

from __future__ import annotations

import copy
import importlib
import math
import pickle
import pkgutil
import random
from collections.abc import Callable

import pytest

import detectors
from detectors.base import BucketStats, Detector, TermStats
from detectors.campaign import CampaignDetector, Decision
from detectors.params import DetectParams

STEP = 300.0
#: Quiet buckets before the step: well past the two-hour warm-up of the detectors below.
QUIET = 120

#: Every implementation, by name, with the parameters its checks run with (like river's
#: `_unit_test_params`): one term, several terms scored on their own, each sensitivity.
DETECTORS: dict[str, Callable[[], Detector]] = {
    "CampaignDetector": lambda: CampaignDetector(DetectParams(warmup_hours=2)),
    "CampaignDetector(terms=3)": lambda: CampaignDetector(DetectParams(warmup_hours=2), 3),
    "CampaignDetector(low)": lambda: CampaignDetector(
        DetectParams(warmup_hours=2, sensitivity="low")
    ),
    "CampaignDetector(high)": lambda: CampaignDetector(
        DetectParams(warmup_hours=2, sensitivity="high")
    ),
}


def bucket(i: int, posts: int, terms: int = 3) -> BucketStats:
    """A bucket of `posts` from as many people, spread over `terms` terms."""
    share = 1 / posts if posts else 0.0
    per_term = {
        j: TermStats(posts // terms, posts // terms, share, posts / terms)
        for j in range(terms)
        if posts // terms
    }
    return BucketStats(
        i * STEP, posts, posts, share, effective_authors=float(posts), terms=per_term
    )


def quiet_stream(seed: int = 0, n: int = QUIET) -> list[BucketStats]:
    rng = random.Random(seed)
    return [bucket(i, rng.randint(0, 4)) for i in range(n)]


def step_stream(seed: int = 0) -> list[BucketStats]:
    """Quiet traffic, then a crowd: a step to forty times the level, growing."""
    surge = [bucket(QUIET + i, 60 * (i + 1)) for i in range(6)]
    return [*quiet_stream(seed), *surge]


def feed(detector: Detector, buckets: list[BucketStats]) -> list[Decision]:
    return [detector.update(b) for b in buckets]


def check_satisfies_the_protocol(detector: Detector) -> None:
    assert isinstance(detector, Detector)
    assert detector.window >= 1
    assert isinstance(detector.scores_terms, bool)


def check_doc(detector: Detector) -> None:
    doc = type(detector).__doc__ or ""
    assert "Parameters" in doc
    assert "Examples" in doc


def check_pickling(detector: Detector) -> None:
    stream = step_stream()
    feed(detector, stream[: QUIET // 2])
    clone = pickle.loads(pickle.dumps(detector, pickle.HIGHEST_PROTOCOL))
    assert feed(clone, stream[QUIET // 2 :]) == feed(detector, stream[QUIET // 2 :])


def check_copy_is_independent(detector: Detector) -> None:
    stream = step_stream()
    feed(detector, stream[: QUIET // 2])
    twin = copy.deepcopy(detector)
    expected = feed(copy.deepcopy(detector), stream[QUIET // 2 :])
    feed(detector, stream[QUIET // 2 :])  # moving the original on leaves the copy as it was
    assert feed(twin, stream[QUIET // 2 :]) == expected


def check_deterministic(detector: Detector) -> None:
    other = copy.deepcopy(detector)
    stream = step_stream(seed=5)
    assert feed(detector, stream) == feed(other, stream)


def check_finite_scores(detector: Detector) -> None:
    stream = [*step_stream(), *(bucket(QUIET + 6 + i, 0) for i in range(30))]
    for decision in feed(detector, stream):
        assert math.isfinite(decision.score), decision
        assert math.isfinite(decision.baseline), decision
        assert math.isfinite(decision.acceleration), decision
        assert all(math.isfinite(s) for s in decision.term_scores), decision


def check_quiet_during_warmup(detector: Detector) -> None:
    burst = [bucket(i, 500) if i % 3 == 2 else bucket(i, 1) for i in range(20)]
    assert [d.transition for d in feed(detector, burst)] == [None] * 20


def check_quiet_traffic_does_not_fire(detector: Detector) -> None:
    assert [d for d in feed(detector, quiet_stream(seed=3, n=600)) if d.transition] == []


def check_step_burst_detected(detector: Detector) -> None:
    decisions = feed(detector, step_stream())
    opened = [d for d in decisions if d.transition == "new"]
    assert len(opened) == 1
    assert opened[0].start >= QUIET * STEP
    assert opened[0].state == "emerging"
    # the burst scores higher than any quiet bucket did (score before learn: no leak)
    assert opened[0].score > max(d.score for d in decisions[:QUIET])


def check_false_alarm_makes_it_stricter(detector: Detector) -> None:
    at = 10 * STEP
    assert detector.strictness(at) == 1.0
    stricter = detector.mark_false_alarm(at)
    assert stricter > 1.0
    assert detector.strictness(at) == stricter
    assert 1.0 < detector.strictness(at + 90 * 86_400.0) < stricter  # and it fades


CHECKS = [
    check_satisfies_the_protocol,
    check_doc,
    check_pickling,
    check_copy_is_independent,
    check_deterministic,
    check_finite_scores,
    check_quiet_during_warmup,
    check_quiet_traffic_does_not_fire,
    check_step_burst_detected,
    check_false_alarm_makes_it_stricter,
]


@pytest.mark.parametrize(
    ("name", "check"),
    [(name, check) for name in DETECTORS for check in CHECKS],
    ids=[f"{name}:{check.__name__}" for name in DETECTORS for check in CHECKS],
)
def test_detector_contract(name: str, check: Callable[[Detector], None]) -> None:
    check(DETECTORS[name]())


def test_every_detector_is_checked() -> None:
    """A class in `detectors` with the contract's methods is a detector: it must be listed."""
    methods = ("update", "strictness", "mark_false_alarm", "scores_terms")
    found = {
        cls
        for module in pkgutil.iter_modules(detectors.__path__)
        for cls in vars(importlib.import_module(f"detectors.{module.name}")).values()
        if isinstance(cls, type) and cls is not Detector and all(hasattr(cls, m) for m in methods)
    }
    assert found
    assert found <= {type(make()) for make in DETECTORS.values()}
