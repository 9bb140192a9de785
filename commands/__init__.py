"""Commands, their handlers and the event-store application."""
