"""The playbook model: what staff write in YAML, and how it is loaded, explained and reloaded.

`model` (the closed pydantic models and loading), `yamlmarks` (safe YAML that remembers
where each key came from), `explain` (validation errors in plain words), `lint` (mistakes a
schema cannot see), `findings` (each problem's severity, and the set that can run),
`reload` (hot reload that keeps the last good set running) and `reference` (the README's
key table, generated from the schema).
"""

from __future__ import annotations

__all__ = [
    "explain",
    "findings",
    "lint",
    "model",
    "reference",
    "reload",
    "yamlmarks",
]
