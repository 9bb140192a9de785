"""Automations: processes that consume events and issue commands (event-based triggers).

Each reaction names the triggering event as the command's causation, and uses the event id
in the command's idempotency key, so an event delivered twice acts once.
"""
