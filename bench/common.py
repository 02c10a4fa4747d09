"""Shared bits of the benchmarks: the machine's description and results.json."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

RESULTS = Path(__file__).resolve().parent / "results.json"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def record(section: str, figures: dict[str, Any], *, partial: bool = False) -> None:
    """Merge one benchmark's figures into bench/results.json, with the machine they ran on.

    `partial` keeps the section's other entries: a run of some of a benchmark's cases
    (`--only`) replaces those cases' figures, not the whole section's.
    """
    results: dict[str, Any] = orjson.loads(RESULTS.read_bytes()) if RESULTS.exists() else {}
    results["machine"] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    kept = results.get(section, {}) if partial else {}
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    results[section] = {**kept, "measured_at": measured_at, **figures}
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def rss_mb() -> float:
    """Current resident set size of this process, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
