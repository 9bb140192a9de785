"""What every store and Kafka can hold, checked before a command runs.

An accepted command must never stop the pipeline downstream, so every value it carries is
checked here against the narrowest store it will reach: PostgreSQL text holds no NUL, UTF-8
holds no lone surrogate, DuckDB's ``DECIMAL(18,2)`` and ``BIGINT`` have bounds, Python's
dates end in year 9999 (deadlines and month ends are computed past the dates people send),
JSON has no NaN, and the broker refuses records over its size limit. A command outside
these bounds is refused with a stable code and records nothing.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.errors import InvalidValue

#: Dates people may send: wide enough for any customer record, far enough from year 9999
#: that deadlines, month ends and time zones never overflow.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
#: The largest magnitude of a number: money fits the warehouse's DECIMAL(18,2) with room
#: for sums; integers fit a signed 64-bit column.
MAX_DECIMAL = Decimal(10) ** 15
MAX_INT = 2**63 - 1
#: A command's values, encoded as JSON. Personal fields grow by a third when sealed, and the
#: envelope adds a little: the record stays well under Kafka's 1 MiB default.
MAX_COMMAND_BYTES = 256 * 1024


class UnstorableText(InvalidValue):
    code = "invalid_text"


class DateOutOfRange(InvalidValue):
    code = "date_out_of_range"


class NumberOutOfRange(InvalidValue):
    code = "number_out_of_range"


class PayloadTooLarge(InvalidValue):
    """Answered 413: the command is well formed but bigger than an event may be."""

    code = "payload_too_large"


def check_storable(command: object, *context: object) -> None:
    """Raises one of the errors above for the first value no store could hold, in the
    command or in what travels with it (``context``: its metadata, such as the actor)."""
    bound = 2
    for name, value in _fields(command):
        bound += _check(value, name) + _PER_CHAR * len(name) + _PER_ITEM
    for part in context:
        for name, value in _fields(part):
            _check(value, name)
    if bound <= MAX_COMMAND_BYTES:
        return  # even at its largest, the command's JSON fits: no need to encode it
    size = len(json.dumps(command, default=_plain, ensure_ascii=False).encode())
    if size > MAX_COMMAND_BYTES:
        raise PayloadTooLarge(f"the command's values take {size:,} bytes; an event holds at most {MAX_COMMAND_BYTES:,}")


def check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise UnstorableText(f"{where} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableText(f"{where} contains a lone surrogate (not valid Unicode text)") from None


#: Bytes no JSON form of these values exceeds (``str()`` of them, quoted).
_SMALL = {type(None): 5, bool: 5, UUID: 38}
_INSTANTS = {datetime: 40, date: 12}
#: A character takes at most six bytes in JSON (``\\u001f``); a UTF-8 one at most four.
_PER_CHAR = 6
#: Separators and quotes around an item or a key (``", "``, ``": "`` and two quotes).
_PER_ITEM = 6
#: What an unforeseen value might take: more than any command may, so it is encoded.
_UNKNOWN = MAX_COMMAND_BYTES + 1


def _check(value: Any, where: str) -> int:
    """Checks ``value``; answers a bound on the bytes of its JSON form in the command."""
    small = _SMALL.get(type(value))
    if small is not None:
        return small
    small = _INSTANTS.get(type(value))
    if small is not None:
        _check_date(value, where)
        return small
    if isinstance(value, str):
        check_text(value, where)
        return _PER_CHAR * len(value) + 2
    if isinstance(value, bool | UUID):
        return 40
    if isinstance(value, Enum):
        return _UNKNOWN
    if isinstance(value, datetime | date):
        _check_date(value, where)
        return 40
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise NumberOutOfRange(f"{where} must lie within ±{MAX_INT}")
        return 21
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= MAX_DECIMAL:
            raise NumberOutOfRange(f"{where} must be a finite number below {MAX_DECIMAL:,}")
        return 26
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value) >= MAX_DECIMAL:
            raise NumberOutOfRange(f"{where} must be a finite number below {MAX_DECIMAL:,}")
        return len(str(value)) + 2
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 2 + sum(
            _check(item, f"{where}.{name}") + _PER_CHAR * len(name) + _PER_ITEM for name, item in _fields(value)
        )
    if isinstance(value, Mapping):
        bound = 2
        for key, item in value.items():
            _check(key, f"a key of {where}")
            bound += _PER_CHAR * len(str(key)) + _PER_ITEM + _check(item, f"{where}.{key}")
        return bound
    if isinstance(value, list | tuple | set | frozenset):
        return 2 + sum(_check(item, f"{where}[{index}]") + _PER_ITEM for index, item in enumerate(value))
    return _UNKNOWN


def _check_date(value: date, where: str) -> None:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise DateOutOfRange(f"{where} ({value.isoformat()}) must fall between {EARLIEST} and {LATEST}")


def _fields(value: Any) -> list[tuple[str, Any]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    return [("command", value)]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dict(_fields(value))
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)
