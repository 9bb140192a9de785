"""The command path's shortcuts give what the slow ways gave: copies of cached aggregates
share nothing a command may change, and the size check encodes a command only when its
bound could pass the limit, refusing exactly what the full encoding refused."""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from commands import limits
from commands.contact import CreateContact, RecordInteraction
from commands.copies import copy_aggregate
from commands.limits import MAX_COMMAND_BYTES, PayloadTooLarge, check_storable
from domain.case import Case
from domain.contact import Contact
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage
from domain.scoring import ScoringRules
from domain.sla import SlaPolicy

META = Meta("ana", "corr", "cause")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def _contact() -> Contact:
    contact = Contact.create(name="Grace Hopper", email="grace@navy.example", tags=["vip", "navy"], meta=META)
    contact.record_interaction("survey_answered", NOW, {"nps": 9, "note": "great"}, ScoringRules(), META)
    contact.collect_events()
    return contact


def test_a_copy_equals_what_deepcopy_gives_and_shares_nothing_mutable() -> None:
    pipeline = Pipeline.create(name="Sales", stages=[Stage("lead", "Lead", 0.1), Stage("demo", "Demo", 0.5)], meta=META)
    pipeline.collect_events()
    case = Case.open(
        contact_id=uuid4(),
        subject="Printer on fire",
        priority="high",
        channel="email",
        policy=SlaPolicy(),
        at=NOW,
        meta=META,
    )
    case.collect_events()
    for original in (_contact(), pipeline, case):
        copied = copy_aggregate(original)
        assert type(copied) is type(original)
        assert _state(copied) == _state(copy.deepcopy(original))
        for name, value in vars(original).items():
            if isinstance(value, list | dict | set):
                assert vars(copied)[name] is not value, name


def test_changing_a_copy_leaves_the_original_as_it_was() -> None:
    original = _contact()
    before = copy.deepcopy(_state(original))
    copied = copy_aggregate(original)
    copied.change_details({"tags": ["other"], "name": "Someone Else"}, META)
    copied.record_interaction("page_visited", NOW, {}, ScoringRules(), META)
    assert copied.collect_events()  # the copy recorded new events...
    assert _state(original) == before  # ...and the cached original did not move
    assert original.collect_events() == []


@dataclass(frozen=True)
class _Odd:
    """A command with every kind of value the check walks."""

    text: str
    when: datetime | None = None
    day: date | None = None
    ids: tuple[UUID, ...] = ()
    money: Decimal | None = None
    ratio: float | None = None
    count: int | None = None
    flags: frozenset[str] = frozenset()
    details: dict[Any, Any] = field(default_factory=dict)
    nested: list[Any] = field(default_factory=list)


def _random_command(rng: random.Random) -> _Odd:
    alphabet = 'aé"\\\n\x01€😀 z'

    def text(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    return _Odd(
        text=text(rng.randint(0, 20_000)),
        when=NOW if rng.random() < 0.5 else None,
        day=date(2000, 1, 31),
        ids=tuple(uuid4() for _ in range(rng.randint(0, 5))),
        money=Decimal("-12345678901234.56"),
        ratio=-1.2345678901234567e-300,
        count=-(2**63 - 1),
        flags=frozenset(text(5) for _ in range(3)),
        details={text(4): text(rng.randint(0, 3000)), 7: [text(10), None, True]},
        nested=[{"a": [text(rng.randint(0, 500))]}, (1, 2.5)],
    )


def test_the_bound_is_never_below_the_encoded_size() -> None:
    rng = random.Random(13)
    for _ in range(30):
        command = _random_command(rng)
        exact = len(json.dumps(command, default=limits._plain, ensure_ascii=False).encode())
        bound = 2 + sum(
            limits._check(value, name) + limits._PER_CHAR * len(name) + limits._PER_ITEM
            for name, value in limits._fields(command)
        )
        assert bound >= exact


@pytest.mark.parametrize("length", [MAX_COMMAND_BYTES - 200, MAX_COMMAND_BYTES - 60, MAX_COMMAND_BYTES])
def test_commands_near_the_limit_are_judged_by_their_encoded_size(length: int) -> None:
    command = CreateContact(name="x" * length)
    exact = len(json.dumps(command, default=limits._plain, ensure_ascii=False).encode())
    if exact > MAX_COMMAND_BYTES:
        with pytest.raises(PayloadTooLarge):
            check_storable(command, META)
    else:
        check_storable(command, META)


def test_everyday_commands_pass() -> None:
    check_storable(RecordInteraction(uuid4(), "email_opened", NOW, {"subject": "Hello"}), META)
    check_storable(CreateContact(name="Grace", tags=("vip",)), META)
