"""Simulated post streams and their uses: what the people say (`corpus`), the streams made
of it (`generate`), the detection scenario suite (`suite`), backtest and its plot."""
