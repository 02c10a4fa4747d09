"""Slack: the Web API client, Block Kit messages, safe text, and button actions."""
