"""Times with a zone: the only times the aggregates accept, the envelope carries and the
audit reads; and dates. One check each, so that none is weaker than another."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.errors import InvalidValue


def is_aware(value: Any) -> bool:
    """A datetime that knows its offset from UTC (a ``tzinfo`` that answers one)."""
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def require_aware(value: Any, name: str = "at", hint: str = "") -> datetime:
    """``value``, when it is an aware datetime; else ``InvalidValue``: "``name`` needs a
    time zone``hint``"."""
    if not is_aware(value):
        raise InvalidValue(f"{name} needs a time zone{hint}")
    aware: datetime = value
    return aware


def require_date(value: Any, field: str) -> date:
    """``value``, when it is a date; a datetime is refused (it is a date too, but not one a
    projection expects)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidValue(f"{field} {value!r} must be a date")
    return value
