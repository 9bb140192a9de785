"""The door's walk over a command's values refuses exactly what the plain walk refuses, with
the same code and message, and answers the same bound on the command's size: given any
value (text with a NUL or a lone surrogate, dates and numbers beyond the stores, keys that
are not text, nested dataclasses, subclasses of the common types), when both walks check
it, then both refuse it alike or both answer the same bound.

The plain walk is kept here as it was before the door learned its shortcuts (dataclass
fields looked up on every value, every place named before its value is checked)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands import limits
from commands.contact import CreateContact, RecordInteraction
from commands.limits import (
    EARLIEST,
    LATEST,
    MAX_COMMAND_BYTES,
    MAX_DECIMAL,
    MAX_INT,
    DateOutOfRange,
    NumberOutOfRange,
    PayloadTooLarge,
    UnstorableText,
    check_storable,
)
from domain.errors import InvalidValue
from domain.meta import Meta

# --- the plain walk, as it was --------------------------------------------------------------

_SMALL = {type(None): 5, bool: 5, UUID: 38}
_INSTANTS = {datetime: 40, date: 12}
_PER_CHAR, _PER_ITEM, _UNKNOWN = 6, 6, MAX_COMMAND_BYTES + 1


def plain_check_storable(command: object, *context: object) -> None:
    bound = 2
    for name, value in plain_fields(command):
        bound += plain_check(value, name) + _PER_CHAR * len(name) + _PER_ITEM
    for part in context:
        for name, value in plain_fields(part):
            plain_check(value, name)
    if bound <= MAX_COMMAND_BYTES:
        return
    size = len(json.dumps(command, default=plain_default, ensure_ascii=False).encode())
    if size > MAX_COMMAND_BYTES:
        raise PayloadTooLarge(f"the command's values take {size:,} bytes; an event holds at most {MAX_COMMAND_BYTES:,}")


def plain_check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise UnstorableText(f"{where} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableText(f"{where} contains a lone surrogate (not valid Unicode text)") from None


def plain_check(value: Any, where: str) -> int:
    small = _SMALL.get(type(value))
    if small is not None:
        return small
    small = _INSTANTS.get(type(value))
    if small is not None:
        plain_check_date(value, where)
        return small
    if isinstance(value, str):
        plain_check_text(value, where)
        return _PER_CHAR * len(value) + 2
    if isinstance(value, bool | UUID):
        return 40
    if isinstance(value, Enum):
        return _UNKNOWN
    if isinstance(value, datetime | date):
        plain_check_date(value, where)
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
            plain_check(item, f"{where}.{name}") + _PER_CHAR * len(name) + _PER_ITEM
            for name, item in plain_fields(value)
        )
    if isinstance(value, Mapping):
        bound = 2
        for key, item in value.items():
            plain_check(key, f"a key of {where}")
            bound += _PER_CHAR * len(str(key)) + _PER_ITEM + plain_check(item, f"{where}.{key}")
        return bound
    if isinstance(value, list | tuple | set | frozenset):
        return 2 + sum(plain_check(item, f"{where}[{index}]") + _PER_ITEM for index, item in enumerate(value))
    return _UNKNOWN


def plain_check_date(value: date, where: str) -> None:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise DateOutOfRange(f"{where} ({value.isoformat()}) must fall between {EARLIEST} and {LATEST}")


def plain_fields(value: Any) -> list[tuple[str, Any]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    return [("command", value)]


def plain_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dict(plain_fields(value))
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


# --- values of every kind the walk meets ----------------------------------------------------


class Label(str):
    """Text of a subclass: the walk's shortcuts take exact types only."""


class Colour(StrEnum):
    RED = "red"
    ODD = "odd\x00"


class Size(Enum):
    BIG = "big"


class Rank(IntEnum):
    TOP = 1


class Counted(dict[Any, Any]):
    """A mapping of a subclass."""


@dataclass(frozen=True)
class Inner:
    note: Any
    at: Any = None


@dataclass(frozen=True)
class Outer:
    name: Any
    inner: Any = None
    items: Any = ()
    extra: dict[Any, Any] = field(default_factory=dict)


texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.sampled_from('ab é😀\x00\x7f\ud800\udfff\n"\\'), max_size=8),
    st.sampled_from(["", "plain", "Zoë", "bad\x00text", "bad\ud800text", "ok\x7f"]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([MAX_INT, MAX_INT + 1, -MAX_INT, -MAX_INT - 1, 0, True, False, Rank.TOP]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e15, -1e15, 999999999999999.9]),
    st.decimals(allow_nan=True, allow_infinity=True, places=2),
    st.sampled_from([Decimal("1e15"), Decimal("-999999999999999.99"), Decimal("NaN"), Decimal("sNaN")]),
)
instants = st.one_of(
    st.dates(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.datetimes(),
    st.sampled_from([EARLIEST, LATEST, EARLIEST - timedelta(days=1), LATEST + timedelta(days=1)]),
)
atoms = st.one_of(
    texts,
    texts.map(Label),
    numbers,
    instants,
    st.uuids(),
    st.none(),
    st.sampled_from([Colour.RED, Colour.ODD, Size.BIG, object(), b"bytes", Inner, Outer, int]),
)


def nest(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.one_of(texts, texts.map(Label), st.integers(-5, 5), st.none(), st.sampled_from([Colour.RED, 1.5]))
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.frozensets(st.one_of(texts, st.integers()), max_size=3),
        st.sets(texts, max_size=3),
        st.dictionaries(keys, children, max_size=4),
        st.dictionaries(keys, children, max_size=3).map(Counted),
        st.builds(Inner, children, children),
        st.builds(Outer, children, children, children, st.dictionaries(keys, children, max_size=2)),
    )


values = st.recursive(atoms, nest, max_leaves=12)


def outcome(walk: Any, *args: Any) -> tuple[str, Any]:
    """What a walk answers: its bound, or the kind and message of its refusal."""
    try:
        return ("bound", walk(*args))
    except InvalidValue as refused:
        return (type(refused).__name__ + " " + refused.code, str(refused))


@settings(max_examples=600, deadline=None)
@given(values)
def test_each_value_is_refused_or_bounded_as_by_the_plain_walk(value: Any) -> None:
    assert outcome(limits._check, value, "field") == outcome(plain_check, value, "field")


@settings(max_examples=300, deadline=None)
@given(values, values, values)
def test_each_command_is_refused_as_by_the_plain_walk(name: Any, inner: Any, items: Any) -> None:
    command = Outer(name, Inner(inner, items), items)
    meta = Meta(name if isinstance(name, str) else "ana", "run", "cause")
    for context in ((), (meta,)):
        assert outcome(check_storable, command, *context) == outcome(plain_check_storable, command, *context)
    assert outcome(check_storable, items) == outcome(plain_check_storable, items)
    assert limits._fields(command) == plain_fields(command)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (CreateContact(name="Ada", email="ada\x00@example.com"), "invalid_text"),
        (CreateContact(name="Zoë", tags=("vip", "bad\ud800")), "invalid_text"),
        (CreateContact(name="x" * (MAX_COMMAND_BYTES // 6 + 10)), None),  # bound over, size under
        (CreateContact(name="x" * (MAX_COMMAND_BYTES + 10)), "payload_too_large"),
        (RecordInteraction(UUID(int=1), "call", datetime(1899, 12, 31, tzinfo=UTC)), "date_out_of_range"),
        (RecordInteraction(UUID(int=1), "call", None, {"nps": 2**63}), "number_out_of_range"),
        (RecordInteraction(UUID(int=1), "call", None, {"note\x00": "x"}), "invalid_text"),
        (RecordInteraction(UUID(int=1), "call", None, {7: {"deep": [1, "ok", "\ud800"]}}), "invalid_text"),  # type: ignore[dict-item]
        (RecordInteraction(UUID(int=1), "call", None, {"amount": float("nan")}), "number_out_of_range"),
        (RecordInteraction(UUID(int=1), "call", None, {"text": "é" * (MAX_COMMAND_BYTES // 2)}), "payload_too_large"),
        (RecordInteraction(UUID(int=1), "call", None, {"note": "fast", "nps": 9}), None),
    ],
)
def test_everyday_commands_are_refused_as_by_the_plain_walk(command: object, code: str | None) -> None:
    meta = Meta("ana", "run", "cause")
    answer = outcome(check_storable, command, meta)
    assert answer == outcome(plain_check_storable, command, meta)
    assert (answer[0] == "bound") == (code is None)
    assert code is None or answer[0].endswith(" " + code)
