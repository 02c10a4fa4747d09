"""A per-series bar for one-bucket excursions, calibrated on the series' own past spikes.

A bucket over the line whose next bucket is back to calm was an isolated spike, which is
known causally one bucket later. Some series spike every few hours (a low-volume term
retweeted in bursts); others almost never. Paging on every spike is the first kind's false
alarm, and ignoring every spike loses the second kind's real one-bucket events (NAB's FB
file: 654 mentions between buckets of 15 and 8).

`IsolatedSpikes` keeps the series' own spike scores and asks, for a new one-bucket
excursion: had the series paged on every past spike at least this high, would it have kept
within its page budget? Counted with mid-p (a tie counts half), a spike may page when
`#{past spikes ≥ score} ≤ budget × elapsed months`. A series that never spikes keeps the
ordinary bar; a spiky one learns its spikes are normal, with no constant of its own: the
budget is the sensitivity's false-page rate (`Thresholds.pages_per_month`). A rise that
holds into a second bucket is no isolated spike and is not held to this bar (the caller,
`detectors.campaign`, decides that).

>>> spikes = IsolatedSpikes(pages_per_month=1.0)
>>> spikes.start(0.0)
>>> spikes.may_page(8.0, at=86_400.0)   # no past spikes: the ordinary bar
True
>>> for day in range(1, 11):           # ten spikes of 9 in ten days
...     spikes.record(9.0, at=day * 86_400.0)
>>> spikes.may_page(8.0, at=11 * 86_400.0), spikes.may_page(12.0, at=11 * 86_400.0)
(False, True)
"""

from __future__ import annotations

import bisect
from collections import deque

#: Seconds in the month a page budget is counted over.
MONTH_S = 30 * 86_400.0
#: Spikes remembered: a bound on memory; the elapsed time then counts from the oldest kept.
MEMORY = 256


class IsolatedSpikes:
    """The series' past isolated-spike scores, and whether a new one is rare enough to page."""

    def __init__(self, pages_per_month: float) -> None:
        self.pages_per_month = pages_per_month
        self._since: float | None = None
        self._kept: deque[tuple[float, float]] = deque(maxlen=MEMORY)  # (at, score)
        self._sorted: list[float] = []

    def start(self, at: float) -> None:
        """Begin counting elapsed time (the first bucket that could page)."""
        if self._since is None:
            self._since = at

    def record(self, score: float, at: float) -> None:
        """The bucket at `at` scored `score`, was over the line and the next one fell back."""
        if len(self._kept) == self._kept.maxlen:
            _, oldest = self._kept[0]
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
        self._kept.append((at, score))
        bisect.insort(self._sorted, score)

    def may_page(self, score: float, at: float) -> bool:
        """Whether paging on every past spike scoring at least `score` kept to the budget."""
        if self._since is None:
            return True
        since = self._since
        if len(self._kept) == self._kept.maxlen:
            since = max(since, self._kept[0][0])
        months = max(at - since, 0.0) / MONTH_S
        above = len(self._sorted) - bisect.bisect_right(self._sorted, score)
        ties = bisect.bisect_right(self._sorted, score) - bisect.bisect_left(self._sorted, score)
        return above + 0.5 * ties <= self.pages_per_month * months
