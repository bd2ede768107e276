"""Compliance snapshots: an incident's affected systems frozen as of its first detection (L4)."""
