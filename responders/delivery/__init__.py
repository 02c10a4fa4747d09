"""Durable delivery: the SQLite outbox and the dispatcher that retries from it."""
