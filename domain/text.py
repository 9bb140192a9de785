"""Small rules on values every aggregate shares."""

from __future__ import annotations

from domain.errors import InvalidValue


def clean(value: str | None) -> str | None:
    """Trimmed text, or ``None`` for nothing but blanks; anything but text is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"expected text, got {type(value).__name__}")
    return value.strip() or None
