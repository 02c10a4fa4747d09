"""The fault-injection suite (issue 14's acceptance), one fault per test, each on real parts.

- restart during a Slack outage, SIGTERM and kill -9: tests/responders/test_restart.py
- a full outbox filesystem: test_full_disk.py (a size-limited tmpfs, as root) and
  tests/watcher/service/test_outbox_full.py (a SQLite answering SQLITE_FULL, anywhere)
- a gap of a year in event time, oversized fields, skewed sources: test_service_faults.py
- slow clients at the descriptor limit: test_descriptor_limit.py

`python -m bench.faults` prints the figures: alerts delivered / detected after each fault,
RSS under each flood, and the time to answer /healthz under each.
"""
