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
    names, bound = _shape(command)
    if names is None:  # not a dataclass: the command is one value named ``command``
        bound += _check(command, "command") + _PER_CHAR * len("command") + _PER_ITEM
    else:
        for name in names:
            bound += _check(getattr(command, name), name)
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
    if value.isascii():
        return  # no surrogate in ASCII; encoding would only cost a copy
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
    kind = type(value)
    # The commonest types first, each taking the branch below that its instances take.
    if kind is str:
        if "\x00" in value or not value.isascii():  # only then can the text be refused
            check_text(value, where)
        return _PER_CHAR * len(value) + 2
    if kind is dict:
        return _check_mapping(value, where)
    if kind is tuple or kind is list:
        return _check_items(value, where)
    small = _SMALL.get(kind)
    if small is not None:
        return small
    small = _INSTANTS.get(kind)
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
    names, bound = _shape(value)
    if names is not None:
        for name in names:
            bound += _check(getattr(value, name), f"{where}.{name}")
        return bound
    if isinstance(value, Mapping):
        return _check_mapping(value, where)
    if isinstance(value, list | tuple | set | frozenset):
        return _check_items(value, where)
    return _UNKNOWN


def _check_mapping(value: Mapping[Any, Any], where: str) -> int:
    # ASCII text without NUL is storable: its place is named only for a value that is not.
    bound = 2
    for key, item in value.items():
        if type(key) is str:
            if "\x00" in key or not key.isascii():
                check_text(key, f"a key of {where}")
            bound += _PER_CHAR * len(key) + _PER_ITEM
        else:
            _check(key, f"a key of {where}")
            bound += _PER_CHAR * len(str(key)) + _PER_ITEM
        if type(item) is str and "\x00" not in item and item.isascii():
            bound += _PER_CHAR * len(item) + 2
        else:
            bound += _check(item, f"{where}.{key}")
    return bound


def _check_items(value: Any, where: str) -> int:
    bound = 2
    for index, item in enumerate(value):
        if type(item) is str and "\x00" not in item and item.isascii():
            bound += _PER_CHAR * len(item) + 2 + _PER_ITEM
        else:
            bound += _check(item, f"{where}[{index}]") + _PER_ITEM
    return bound


def _check_date(value: date, where: str) -> None:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise DateOutOfRange(f"{where} ({value.isoformat()}) must fall between {EARLIEST} and {LATEST}")


def _fields(value: Any) -> list[tuple[str, Any]]:
    names = _shape(value)[0]
    if names is None:
        return [("command", value)]
    return [(name, getattr(value, name)) for name in names]


#: Per class: its dataclass fields' names (``None``: not a dataclass) and the bytes its JSON
#: object takes besides their values (braces, names, separators). ``dataclasses.fields``
#: builds its answer anew on each call, which the door would pay for every value.
_SHAPES: dict[type, tuple[tuple[str, ...] | None, int]] = {}


def _shape(value: Any) -> tuple[tuple[str, ...] | None, int]:
    kind = type(value)
    shape = _SHAPES.get(kind)
    if shape is None:
        # A class is never taken for an instance of itself (``dataclasses.is_dataclass``
        # answers for both), and every instance of a metaclass is a class.
        if dataclasses.is_dataclass(kind) and not isinstance(value, type):
            names = tuple(f.name for f in dataclasses.fields(kind))
            shape = (names, 2 + sum(_PER_CHAR * len(name) + _PER_ITEM for name in names))
        else:
            shape = (None, 2)
        _SHAPES[kind] = shape
    return shape


def _plain(value: Any) -> Any:
    if _shape(value)[0] is not None:
        return dict(_fields(value))
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)
