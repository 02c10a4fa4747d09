"""Simulated post streams, the detection scenario suite, backtest and its plot."""
