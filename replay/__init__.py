"""Audit history, time travel, integrity verification and rebuilds, read from the event
store (never from a read model)."""
