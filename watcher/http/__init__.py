"""HTTP endpoints: health, readiness, metrics, ingest, and Slack interactivity."""
