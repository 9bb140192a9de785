"""Every value of every command is checked against what every store and Kafka can hold,
before the command runs: a NUL or a lone surrogate in any text, a date no store can take
with room for deadlines, a number beyond the warehouse's columns, a command too large
for one event. Each is refused with its code, and nothing reaches the store."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from commands.bus import CommandBus
from commands.handlers import HANDLERS
from commands.limits import MAX_COMMAND_BYTES, check_storable
from domain.errors import InvalidValue
from domain.meta import Meta

META = Meta("ana", "door", "door")
NUL = "bad\x00text"
SURROGATE = "bad\ud800text"
FAR_DATE = date(9999, 12, 31)
FAR_TIME = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)


class NoStore:
    """Any touch of the store fails the test: a refused command must not get that far."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was used ({name}) for a command the door should refuse")


BUS = CommandBus(NoStore(), config=None, handlers=HANDLERS)  # type: ignore[arg-type]


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _options(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _sample(annotation: Any) -> Any:
    """A plain valid value of the annotated type."""
    if type(None) in typing.get_args(annotation):
        return None
    kind = _options(annotation)[0]
    origin = typing.get_origin(kind) or kind
    samples = {
        str: "ok",
        bool: False,
        int: 1,
        float: 1.0,
        Decimal: Decimal("1.50"),
        UUID: uuid4(),
        datetime: datetime(2026, 3, 1, tzinfo=UTC),
        date: date(2026, 3, 1),
        timedelta: timedelta(days=1),
    }
    if origin in samples:
        return samples[origin]
    if origin in (tuple, list, frozenset, set, Sequence):
        return ()
    if isinstance(origin, type) and issubclass(origin, Mapping) or origin is Mapping:
        return {}
    if dataclasses.is_dataclass(origin):
        return _build(origin, {})
    if origin is typing.Literal:
        return typing.get_args(kind)[0]
    raise AssertionError(f"no sample for {annotation!r}")


def _build(cls: type, overrides: dict[str, Any]) -> Any:
    hints = _hints(cls)
    values = {f.name: overrides.get(f.name, _sample(hints[f.name])) for f in dataclasses.fields(cls)}
    return cls(**values)


def _poisons(annotation: Any) -> list[tuple[Any, str]]:
    """What no store can hold, in the shape of the annotated type, with the code it earns."""
    found: list[tuple[Any, str]] = []
    for kind in _options(annotation):
        origin = typing.get_origin(kind) or kind
        args = typing.get_args(kind)
        if origin is str:
            found += [(NUL, "invalid_text"), (SURROGATE, "invalid_text")]
        elif origin is datetime:
            found += [(FAR_TIME, "date_out_of_range"), (datetime(1, 1, 1, tzinfo=UTC), "date_out_of_range")]
        elif origin is date:
            found.append((FAR_DATE, "date_out_of_range"))
        elif origin is Decimal:
            found += [(Decimal("1e20"), "number_out_of_range"), (Decimal("NaN"), "number_out_of_range")]
        elif origin in (tuple, list, frozenset, set, Sequence) and args and args[0] is str:
            found.append(((NUL,), "invalid_text"))
        elif origin is Mapping or (isinstance(origin, type) and issubclass(origin, Mapping)):
            found += [
                ({"note": NUL}, "invalid_text"),
                ({NUL: "key"}, "invalid_text"),
                ({"when": FAR_TIME}, "date_out_of_range"),
                ({"deep": [{"n": float("nan")}]}, "number_out_of_range"),
                ({"big": 10**30}, "number_out_of_range"),
            ]
    return found


CASES = [
    pytest.param(command, name, poison, code, id=f"{command.__name__}.{name}={poison!r:.24}")
    for command in HANDLERS
    for name, annotation in _hints(command).items()
    if name in {f.name for f in dataclasses.fields(command)}
    for poison, code in _poisons(annotation)
]


def test_every_command_has_fields_the_door_checks():
    checked = {case.values[0] for case in CASES}
    unchecked = [c.__name__ for c in HANDLERS if c not in checked and any(_poisons(a) for a in _hints(c).values())]
    assert len(CASES) > 100 and unchecked == []


@pytest.mark.parametrize(("command", "field", "poison", "code"), CASES)
def test_the_door_refuses_what_no_store_can_hold(command, field, poison, code):
    with pytest.raises(InvalidValue) as refused:
        BUS.execute(_build(command, {field: poison}), META)
    assert refused.value.code == code
    assert field in refused.value.detail


def test_the_actor_and_the_idempotency_key_are_checked_too():
    from commands.contact import CreateContact

    with pytest.raises(InvalidValue, match="actor") as refused:
        BUS.execute(CreateContact(name="Ada"), Meta("ana\x00", "c", "c"))
    assert refused.value.code == "invalid_text"
    with pytest.raises(InvalidValue, match="Idempotency-Key"):
        BUS.execute(CreateContact(name="Ada"), META, idempotency_key="k\ud800")


def test_a_command_larger_than_an_event_may_be_is_refused_with_413s_code():
    from commands.contact import RecordInteraction

    big = RecordInteraction(uuid4(), "form_submitted", details={"answer": "x" * MAX_COMMAND_BYTES})
    with pytest.raises(InvalidValue) as refused:
        BUS.execute(big, META)
    assert refused.value.code == "payload_too_large"
    just_fits = RecordInteraction(uuid4(), "form_submitted", details={"answer": "x" * (MAX_COMMAND_BYTES // 2)})
    check_storable(just_fits)


def test_ordinary_values_pass_the_door():
    from commands.contact import CreateContact, RecordInteraction

    check_storable(CreateContact(name="Zoë Ñúñez 😀", tags=("vip",), email="z@example.com"), META)
    check_storable(
        RecordInteraction(
            uuid4(),
            "purchase",
            datetime(2026, 3, 1, tzinfo=UTC),
            {"amount": "1999.99", "items": [1, 2.5, None, True], "at": date(1990, 1, 1)},
        )
    )
