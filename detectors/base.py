"""The detector contract: what the watcher's engine calls on a playbook's detector.

Like river's `anomaly/base.py`, one small type states the family's API, but as a `Protocol`
rather than a base class: a detector satisfies it by shape (mypy checks that where the engine
holds one typed as `Detector`), so a new algorithm needs no inheritance and no registration.

The contract, which `tests/detectors/test_contract.py` checks over every implementation:

- `update` is fed each closed event-time bucket of one playbook in order, exactly once,
  scores it, advances the lifecycle and learns it; a higher `Decision.score` means burstier.
  Time comes only from `BucketStats.start` and the `at` arguments: no clock, no I/O.
- The same buckets give the same decisions (no unseeded randomness, no hash order).
- The detector pickles, and an unpickled copy goes on exactly as the original would: the
  watcher checkpoints it between batches and restores it after a restart.
- A burst does not teach the baseline that it is normal (river's `protect_anomaly_detector`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from detectors.campaign import BucketStats, Decision


@runtime_checkable
class Detector(Protocol):
    """One playbook's burst detector and campaign lifecycle, fed one closed bucket at a time."""

    #: Buckets in the hour-long view: the caller keeps who posted in the last `window - 1`
    #: buckets, so each bucket's `BucketStats.hour_*` crowd covers that hour.
    window: int

    @property
    def scores_terms(self) -> bool:
        """Whether `update` wants each term's own counts in `BucketStats.terms`."""
        ...

    def update(self, bucket: BucketStats) -> Decision:
        """Score one closed bucket, advance the lifecycle, learn it, and say what happened."""
        ...

    def strictness(self, at: float) -> float:
        """The factor on the significance a surge needs at event time `at`: 1 unless marked."""
        ...

    def mark_false_alarm(self, at: float) -> float:
        """Staff said the alert raised by event time `at` was no campaign: get stricter,
        and return the new strictness."""
        ...
