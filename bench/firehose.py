"""A synthetic firehose for the throughput and memory benchmarks.

Posts are ~15 pseudo-words from a 20,000-word vocabulary; about `match_rate` of them also
carry one playbook term; playbooks have `terms` pseudo-word terms each. The last tenth of the
stream holds a leaderless campaign on playbook 0 (many new authors, one term), so the
benchmark exercises the alert path too. Authors are Zipf-distributed over `authors` ids.
Everything is seeded: the same arguments always give the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def pseudo_words(rng: random.Random, n: int, shortest: int, longest: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(LETTERS) for _ in range(rng.randint(shortest, longest))))
    return sorted(out)


def playbook_terms(playbooks: int, terms: int) -> list[list[str]]:
    # Terms are 12+ letters and vocabulary words at most 9, so chatter never matches by chance.
    flat = pseudo_words(random.Random(2), playbooks * terms, 12, 16)
    return [flat[p * terms : (p + 1) * terms] for p in range(playbooks)]


def write_playbooks(folder: Path, playbooks: int, terms: int) -> list[list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    groups = playbook_terms(playbooks, terms)
    for index, group in enumerate(groups):
        (folder / f"pb{index:04d}.yaml").write_text(
            f"name: pb{index:04d}\nwatch:\n  terms: [{', '.join(group)}]\n", encoding="utf-8"
        )
    return groups


def posts(
    n: int,
    groups: list[list[str]],
    *,
    authors: int = 1_000_000,
    match_rate: float = 0.05,
    span_s: float = 2 * 86400,
    seed: int = 1,
) -> Iterator[bytes]:
    """NDJSON lines (with newline), in event-time order."""
    rng = random.Random(seed)
    vocab = pseudo_words(rng, 20_000, 3, 9)
    chatter = [" ".join(rng.choices(vocab, k=15)) for _ in range(50_000)]
    all_terms = [t for g in groups for t in g]
    campaign_from = int(n * 0.9)
    for i in range(n):
        ts = T0 + span_s * i / n
        text = chatter[i % len(chatter)]
        author = f"u{int(rng.paretovariate(1.1)) % authors}"
        if i >= campaign_from and rng.random() < 0.02:
            text = f"{text} {groups[0][0]} #newtag"
            author = f"crowd{i}"
        elif rng.random() < match_rate:
            text = f"{text} {rng.choice(all_terms)}"
        stamp = datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")
        post = {"id": str(i), "author": author, "text": text, "created_at": stamp}
        yield orjson.dumps(post) + b"\n"


def write_posts(
    path: Path,
    n: int,
    groups: list[list[str]],
    *,
    authors: int = 1_000_000,
    span_s: float = 2 * 86400,
) -> None:
    with path.open("wb") as handle:
        handle.writelines(posts(n, groups, authors=authors, span_s=span_s))
