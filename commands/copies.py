"""Copies of cached aggregates for a command to change.

A command changes its own copy, so that a rule that fails half-way, or a save that loses a
race, leaves the cached aggregate as it was stored. ``copy.deepcopy`` makes that copy by
reflection and costs more than the rest of a command's Python work; the state of our
aggregates is plain values (text, numbers, ids, instants, and lists, dicts and sets of them),
which are copied here directly. Anything else still goes through ``deepcopy``.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from domain.meta import Meta

T = TypeVar("T")

#: Values that cannot change, shared between the copy and the original.
_IMMUTABLE: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), bytes, UUID, datetime, date, time, timedelta, Decimal, Meta}
)


def copy_value(value: Any) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is list:
        return [copy_value(item) for item in value]
    if kind is dict:
        return {key: copy_value(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(copy_value(item) for item in value)
    if kind is set:
        return {copy_value(item) for item in value}
    return deepcopy(value)


def copy_aggregate(aggregate: T) -> T:
    """A copy sharing nothing that either side may change."""
    copied = object.__new__(type(aggregate))
    copied.__dict__.update({name: copy_value(value) for name, value in vars(aggregate).items()})
    return copied
