"""Turning the cells of an imported row into the values a command takes.

A CSV cell is text; a JSON-lines value may already be a number, a list or an object. Each
parser accepts both and raises ``InvalidValue`` (code ``validation_error``, as the HTTP API
answers a malformed request) when the value cannot be one; the aggregates then check the
value itself, exactly as they do for a command from the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from domain.errors import InvalidValue

Parser = Callable[[Any, str], Any]

#: Tags in one CSV cell: separated by semicolons or commas (``vip; partner``).
_TAG_SEPARATORS = re.compile(r"[;,]")


def text(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidValue(f"{name} must be text, not {type(value).__name__}")
    return str(value)  # a JSON number where text is meant: a phone, an id


def tags(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part for part in (p.strip() for p in _TAG_SEPARATORS.split(value)) if part)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InvalidValue(f"{name} must be text (tags separated by ';' or ',') or a list of text")


def identifier(value: Any, name: str) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(text(value, name).strip())
    except ValueError:
        raise InvalidValue(f"{name} {value!r} is not an id (a UUID)") from None


def amount(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidValue(f"{name} must be a number")
    try:
        return Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        raise InvalidValue(f"{name} {value!r} is not a number (use a dot for decimals: 1234.50)") from None


def day(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(text(value, name).strip())
    except ValueError:
        raise InvalidValue(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def instant(value: Any, name: str) -> datetime:
    """ISO 8601 with its offset (``2025-03-01T09:30:00Z``); a time without one is handed to
    the aggregate, which refuses it as every command path does ("needs a time zone")."""
    try:
        return datetime.fromisoformat(text(value, name).strip())
    except ValueError:
        raise InvalidValue(f"{name} {value!r} is not a time (ISO 8601, e.g. 2025-03-01T09:30:00Z)") from None


def details(value: Any, name: str) -> dict[str, Any]:
    """A JSON object: in CSV, its text (``{"nps": 9, "comment": "fast"}``)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidValue(f"{name} must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidValue(f"{name} must be a JSON object")
    return value


def detail(value: Any, name: str) -> Any:
    """One ``details.KEY`` cell. The structured keys analytics reads keep their JSON type
    when they come from a CSV cell: ``details.nps`` and ``details.ces`` whole numbers,
    ``details.amount`` a number; any other detail is free text and stays as it is."""
    key = name.rpartition(".")[2]
    if not isinstance(value, str) or key not in _NUMERIC_DETAILS:
        return value
    cleaned = value.strip()
    try:
        return int(cleaned) if key != "amount" or re.fullmatch(r"-?\d+", cleaned) else float(cleaned)
    except ValueError:
        raise InvalidValue(f"{name} {value!r} is not a number") from None


#: Keys of ``details`` that hold numbers (see ``domain.privacy.STRUCTURED_DETAILS``).
_NUMERIC_DETAILS = frozenset({"nps", "ces", "amount"})
