"""The one hierarchy of errors the aggregates raise, each with a stable ``code``.

Codes are part of the HTTP contract (problem+json ``code``); never rename one.
"""


class DomainError(Exception):
    """A command was refused. Nothing was recorded."""

    code = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RuleViolation(DomainError):
    """The command is well formed but a business rule forbids it now (HTTP 409)."""

    code = "rule_violation"


class InvalidValue(DomainError):
    """The command carries a value the domain cannot accept (HTTP 422)."""

    code = "validation_error"


class UnknownInteractionType(InvalidValue):
    pass


class EmptyName(InvalidValue):
    pass
