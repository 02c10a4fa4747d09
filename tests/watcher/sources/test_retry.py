from __future__ import annotations

import codecs
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import T0
from watcher.sources.ingest import IngestSource
from watcher.sources.retry import (
    Backoff,
    FatalError,
    RateLimited,
    TransientError,
    check_status,
    retry_after,
)


@pytest.mark.parametrize(
    ("status", "headers", "kind"),
    [
        (401, {}, FatalError),
        (403, {}, FatalError),
        (404, {}, FatalError),
        (429, {}, RateLimited),
        (503, {"Retry-After": "5"}, RateLimited),
        (503, {}, TransientError),
        (500, {}, TransientError),
    ],
)
def test_statuses_map_to_kinds_of_error(
    status: int, headers: dict[str, str], kind: type[Exception]
) -> None:
    with pytest.raises(kind, match=f"^feed: HTTP {status}: "):
        check_status("feed", status, headers, T0)


def test_ok_and_not_modified_are_not_errors() -> None:
    check_status("feed", 200, {}, T0)
    check_status("feed", 304, {}, T0)


def test_429_without_a_hint_waits_the_default() -> None:
    with pytest.raises(RateLimited) as info:
        check_status("feed", 429, {}, T0, default_wait=33.0)
    assert info.value.retry_after == 33.0


def test_backoff_doubles_within_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, rng=random.Random(4))
    delays = [backoff.next() for _ in range(6)]
    caps = [1, 2, 4, 8, 8, 8]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps, strict=True))
    backoff.reset()
    assert backoff.next() <= 1.0


@given(st.text(max_size=40))
def test_fuzz_retry_after_is_none_or_not_negative(value: str) -> None:
    wait = retry_after(value, T0)
    assert wait is None or wait >= 0


@given(st.binary(max_size=300))
def test_fuzz_ingest_bodies_are_counted_never_raise(body: bytes) -> None:
    source = IngestSource("t", clock=lambda: T0)
    accepted, report = source.parse(body)
    # lines end at \n only (\r is JSON whitespace); a leading byte-order mark is no line
    lines = [line for line in body.removeprefix(codecs.BOM_UTF8).split(b"\n") if line.strip()]
    assert report["accepted"] == len(accepted)
    assert sum(int(report[k]) for k in ("accepted", "malformed", "duplicate")) == len(lines)  # type: ignore[call-overload]
