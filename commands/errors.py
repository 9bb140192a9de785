"""Errors the command layer adds to the domain's: they also carry a stable ``code``."""

from domain.errors import DomainError, InvalidValue


class NotFound(DomainError):
    code = "not_found"


class ConcurrencyConflict(DomainError):
    """Someone else changed the aggregate first; nothing of this command was recorded."""

    code = "concurrency_conflict"


class IdempotencyKeyReused(InvalidValue):
    code = "idempotency_key_reused"
