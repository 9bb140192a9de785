"""Webhooks: services subscribe to customer events and eventcrm calls them, signed, in
order per subject, retrying for days (see docs/SUBSCRIBING.md)."""
