"""Groundswell's composition root: feeds, pipeline, HTTP endpoints and the CLI."""
