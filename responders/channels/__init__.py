"""Delivery channels other than Slack: console, NDJSON file, signed webhook."""
