"""Token novelty: what a surge brings that the everyday talk on an issue does not."""

from __future__ import annotations

import pickle
import random

import pytest
from scipy.stats import chi2_contingency

from detectors.novelty import Novelty, g_squared

HOUR = 3600.0
DAY = 24 * HOUR
EVERYDAY = ("report", "ports", "council", "#wastejustice", "shipment")


def learn_days(nov: Novelty, days: float = 2, seed: int = 0, start: float = 0.0) -> float:
    """Hourly buckets of everyday posts, each word in about a third of them; the last time."""
    rng = random.Random(seed)
    at = start
    for hour in range(int(days * 24)):
        at = start + hour * HOUR
        posts = rng.randint(5, 15)
        counts = {t: sum(rng.random() < 0.3 for _ in range(posts)) for t in EVERYDAY}
        nov.learn(posts, counts, at)
    return at + HOUR


def names(found: list[tuple[str, float]]) -> list[str]:
    return [token for token, _ in found]


@pytest.mark.parametrize(
    ("k", "n", "base_k", "base_n"), [(5, 10, 1, 100), (3, 40, 12, 300), (0, 9, 4, 50), (9, 9, 0, 7)]
)
def test_g_squared_matches_scipy(k: int, n: int, base_k: int, base_n: int) -> None:
    table = [[k, n - k], [base_k, base_n - base_k]]
    oracle = chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
    ours = g_squared(k, n, base_k, base_n)
    assert abs(ours) == pytest.approx(oracle)
    assert (ours >= 0) == (k / n >= base_k / base_n)


def test_a_new_token_in_a_surge_is_emerging() -> None:
    nov = Novelty(hold=0)
    now = learn_days(nov)
    found = nov.emerging(40, {"#trafigura": 25, "report": 12}, {"#trafigura": 20, "report": 9}, now)
    assert names(found) == ["#trafigura"]
    assert found[0][1] > 50


def test_an_everyday_token_is_not_emerging_even_in_a_big_surge() -> None:
    nov = Novelty(hold=0)
    now = learn_days(nov)
    window = {"report": 130, "council": 110, "#wastejustice": 150}  # about their usual third
    assert nov.emerging(400, window, dict.fromkeys(window, 50), now) == []


def test_a_token_of_one_or_two_authors_is_not_emerging() -> None:
    nov = Novelty(hold=0)
    now = learn_days(nov)
    window = {"#mytag": 30, "#ourtag": 30, "#crowdtag": 30}
    support = {"#mytag": 1, "#ourtag": 2, "#crowdtag": 3}
    assert names(nov.emerging(60, window, support, now)) == ["#crowdtag"]


def test_a_token_needs_a_few_posts_and_a_baseline_to_stand_out() -> None:
    nov = Novelty(hold=0)
    now = learn_days(nov)
    assert nov.emerging(10, {"guardian": 2}, {"guardian": 2}, now) == []
    assert names(nov.emerging(10, {"guardian": 3}, {"guardian": 3}, now)) == ["guardian"]
    young = Novelty(hold=0)
    young.learn(5, {"report": 2}, 0.0)  # five posts of baseline: too few to call anything new
    assert young.emerging(10, {"guardian": 3}, {"guardian": 3}, HOUR) == []


def test_memory_is_bounded_and_keeps_the_commonest() -> None:
    nov = Novelty(max_tokens=50, hold=0)
    rng = random.Random(1)
    for hour in range(200):
        counts = {f"rare{hour}-{i}": 1 for i in range(20)}
        counts["report"] = 8
        counts[f"word{rng.randint(0, 9)}"] = 5
        nov.learn(10, counts, hour * HOUR)
        assert len(nov.counts) <= 2 * nov.max_tokens
    assert "report" in nov.counts
    assert sum(token.startswith("word") for token in nov.counts) == 10


def test_which_tied_tokens_are_kept_does_not_depend_on_the_order_they_came_in() -> None:
    # A bucket's token counts are built from sets of strings, whose order is the process's
    # hash seed: a replay and a cluster worker see the same counts in different orders.
    tokens = [f"tok{i:03d}" for i in range(40)]
    kept = []
    for order in (tokens, tokens[::-1], random.Random(5).sample(tokens, len(tokens))):
        nov = Novelty(max_tokens=10, hold=0)
        nov.learn(10, dict.fromkeys(order, 3), 0.0)  # 40 tokens, all tied, 10 to keep
        kept.append(sorted(nov.counts))
    assert kept[0] == kept[1] == kept[2]
    assert len(kept[0]) == 10


def test_pickle_round_trip_and_independent_clones() -> None:
    nov = Novelty(hold=2 * HOUR)
    now = learn_days(nov)
    clone = pickle.loads(pickle.dumps(nov))
    window, support = {"#trafigura": 12, "report": 5}, {"#trafigura": 9, "report": 5}
    assert clone.emerging(30, window, support, now) == nov.emerging(30, window, support, now)
    assert clone.held == nov.held
    clone.learn(10, {"#trafigura": 10}, now)
    clone.learn(10, {}, now + 3 * HOUR)  # commits the held bucket
    assert clone.baseline("#trafigura", now)[0] > 0.0
    assert nov.baseline("#trafigura", now)[0] == 0.0


def test_the_baseline_decays_with_event_time() -> None:
    nov = Novelty(half_life=DAY, hold=0)
    nov.learn(100, {"#trafigura": 40}, 0.0)
    assert nov.baseline("#trafigura", 0.0) == pytest.approx((40.0, 100.0))
    assert nov.baseline("#trafigura", DAY) == pytest.approx((20.0, 50.0))
    # a token common a week ago is news again once the week's talk has moved on
    later = learn_days(nov, days=7, start=HOUR)
    assert nov.baseline("#trafigura", later)[0] < 0.5
    found = nov.emerging(40, {"#trafigura": 20}, {"#trafigura": 20}, later)
    assert names(found) == ["#trafigura"]


def test_decay_survives_rescaling_over_months() -> None:
    nov = Novelty(half_life=HOUR, hold=0)
    for hour in range(24 * 90):  # 2,160 half-lives: the stored weights must not overflow
        nov.learn(10, {"report": 3}, hour * HOUR)
    base_k, base_n = nov.baseline("report", 24 * 90 * HOUR)
    assert base_k / base_n == pytest.approx(0.3)
    assert base_n == pytest.approx(10 / (1 - 2**-1) * 2**-1)  # geometric series, one hour on


def test_held_buckets_of_a_late_found_onset_are_never_learned() -> None:
    nov = Novelty(hold=HOUR)
    now = learn_days(nov)
    # the campaign starts quietly, in buckets that close as quiet before it is detected
    for minute in (0, 5, 10, 15):
        nov.learn(6, {"#trafigura": 4}, now + minute * 60)
    nov.discard_since(now)  # the detector dates the onset back to `now`
    nov.learn(8, {"report": 3}, now + 2 * HOUR)  # commits all held buckets an hour old
    assert nov.baseline("#trafigura", now + 2 * HOUR)[0] == 0.0
    assert nov.baseline("report", now + 2 * HOUR)[0] > 0.0


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="half_life=0"):
        Novelty(half_life=0)
    with pytest.raises(ValueError, match="max_tokens=0"):
        Novelty(max_tokens=0)
