"""Benchmarks that print their figures: speed, memory, detection quality (see README.md)."""

from __future__ import annotations
