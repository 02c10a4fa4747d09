"""The playbook model: loading YAML with marks, plain-words errors, lint and hot reload."""
