"""The HTTP API: commands, reads and, later, analytics and audit."""
