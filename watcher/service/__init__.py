"""The running service: named async stages, composition from settings, checkpoints, metrics."""
