"""Simulated post streams, the detection scenario suite, backtest and its plot.

`corpus` (topics, texts and the story scenarios), `ecosystem` (the labelled accounts around
each issue: voices with standing and accounts never to name), `generate` (seeded streams of
everyday talk and campaigns), `suite` (surges of every size, speed and hour, and decoys), `backtest`
(one playbook over past posts, every bucket kept) and `plot` (the backtest picture).
"""

from __future__ import annotations

__all__ = [
    "backtest",
    "corpus",
    "ecosystem",
    "generate",
    "plot",
    "suite",
]
