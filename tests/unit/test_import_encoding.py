"""The import's fast encodings give the bytes of the plain ones: the chain's form of an
event is ``canonical`` of its ``payload``, the stored state is the store's transcoder's,
and sealing many fields at once seals each as ``Sealer.seal`` does."""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from commands.chain import form_of
from commands.importing.batch import StateEncoder
from commands.privacy import PREFIX, Sealer
from commands.store import DateAsISO, MetaAsDict
from domain.contact import Contact
from domain.integrity import canonical, format_time, payload
from domain.meta import Meta
from domain.scoring import ScoringRules

META = Meta("importer", "import:run", "import/crm/contact/C1")
#: Text the standard library escapes and msgspec does not (beyond ASCII, DEL), and text
#: both escape (control characters, quotes).
AWKWARD = ["Zoë", "\u2028", "del\x7f", "ctl\x01\x1f\n\t", 'quote" back\\ slash/', "😀"]


class Event:
    TOPIC = "crm.test.happened.v1"


def event(meta: Meta = META, timestamp: datetime | None = None, **data: Any) -> Event:
    made = Event()
    made.__dict__.update(
        originator_id=uuid4(), originator_version=2, timestamp=timestamp or datetime.now(UTC), meta=meta, **data
    )
    return made


def reference_form(e: Any) -> bytes:
    return canonical(
        e.TOPIC,
        str(e.originator_id),
        e.originator_version,
        format_time(e.timestamp),
        payload(e),
        e.meta.actor,
        e.meta.correlation_id,
        e.meta.causation_id,
    )


def contact_events() -> list[Any]:
    contact = Contact.create(
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+44 20 7946 0000",
        tags=("vip", "partner"),
        owner="ana",
        lifecycle_stage="lead",
        meta=META,
    )
    contact.record_interaction("survey_answered", datetime.now(UTC), {"nps": 9, "note": "fast"}, ScoringRules(), META)
    return list(contact.collect_events())


def awkward_values() -> list[dict[str, Any]]:
    return [{"text": text, "details": {"note": text, "nested": [text, {"b": 1, "a": None}]}} for text in AWKWARD] + [
        {"keys": {1: "one", "1": "text one"}},
        {"keys": {10: "a", 9: "b"}},
        {"numbers": [1.5, 1e16, 1e-7, float("nan"), -0.0], "big": 2**70, "edge": 2**63, "low": -(2**63)},
        {"at": datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))), "naive": datetime(2025, 3, 1)},
        {"day": date(2025, 3, 1), "amount": Decimal("1234.50"), "id": uuid4(), "ids": (uuid4(), uuid4())},
        {"nested": {"at": datetime(2025, 3, 1, tzinfo=UTC), "amount": Decimal("1.10"), "meta": META}},
        {"set": {3, 1, 2}, "tags": ("b", "a"), "flag": True, "none": None},
    ]


def random_value(
    rng: random.Random,
    depth: int = 0,
    *,
    floats: Sequence[float] = (1.5, 1e16, 3.0),
    others: Callable[[], Sequence[Any]] = lambda: (Decimal("9.99"), uuid4(), date(2025, 1, 2), datetime.now(UTC)),
    keys: Sequence[str] = ("a", "B", "é", "_", "z1"),
    width: int = 3,
    awkward: Sequence[str] = AWKWARD,
) -> Any:
    """A random JSON-like value, nested up to three deep: numbers, text with ``awkward``
    characters, ``floats``, one of ``others`` (values the store's transcoder writes),
    objects of ``width`` ``keys``."""

    def inner() -> Any:
        return random_value(rng, depth + 1, floats=floats, others=others, keys=keys, width=width, awkward=awkward)

    makers = [
        lambda: rng.randrange(-(10**6), 10**6),
        lambda: "".join(rng.choice(string.printable + "".join(awkward)) for _ in range(rng.randrange(8))),
        lambda: None,
        lambda: rng.random() < 0.5,
        lambda: rng.choice(floats),
        lambda: rng.choice(others()),
        lambda: {rng.choice(keys): inner() for _ in range(width)},
        lambda: [inner() for _ in range(rng.randrange(3))],
    ]
    return makers[rng.randrange(len(makers) if depth < 3 else 6)]()


def transcoder() -> JSONTranscoder:
    """The store's transcoder (``CrmEventStore.register_transcodings``)."""
    made = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), MetaAsDict(), DateAsISO()):
        made.register(transcoding)
    return made


@pytest.mark.parametrize("meta", [META, Meta("Zoë", "import:run", "del\x7f")])
def test_the_chain_form_of_an_event_is_the_canonical_form_of_its_payload(meta: Meta) -> None:
    rng = random.Random(8)
    events = [
        *contact_events(),
        *(event(meta, **values) for values in awkward_values()),
        *(event(meta, **{f"k{i}": random_value(rng) for i in range(4)}) for _ in range(2000)),
    ]
    for e in events:
        assert form_of(e) == reference_form(e)


#: Times of every kind an event may hold: in UTC (left to msgspec), at an offset, at a zero
#: offset that is not ``UTC`` itself, without an offset, whole seconds and not, early years.
TIMES = [
    datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
    datetime(2025, 3, 1, 9, 30, 0, 1, tzinfo=UTC),
    datetime(5, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
    datetime(2025, 3, 1, 9, 30, 0, 120, tzinfo=timezone(timedelta(hours=2))),
    datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(0))),
    datetime(2025, 3, 1, 9, 30, 15),
]


@pytest.mark.parametrize("timestamp", TIMES)
def test_the_chain_form_is_canonical_whatever_the_times_zone(timestamp: datetime) -> None:
    values: list[dict[str, Any]] = [
        {"at": at, "id": uuid4(), "note": text} for at in TIMES for text in ("plain", "Zoë", "del\x7f")
    ]
    values += [{"keys": {1: "one"}, "at": timestamp}, {"nested": {"at": timestamp}, "day": date(2025, 3, 1)}]
    for meta in (META, Meta("Zoë", "import:run", "cause")):
        for data in values:
            e = event(meta, timestamp, **data)
            assert form_of(e) == reference_form(e)


def test_the_stored_state_is_the_transcoders_bytes() -> None:
    plain, fast = transcoder(), StateEncoder(transcoder())
    rng = random.Random(9)
    outside = ("originator_id", "originator_version")
    storable = [values for values in awkward_values() if "set" not in values]  # no transcoding for sets
    states = [
        *({k: v for k, v in vars(e).items() if k not in outside} for e in contact_events()),
        *({"timestamp": datetime.now(UTC), "meta": META, **values} for values in storable),
        *({"timestamp": datetime.now(UTC), **{f"k{i}": random_value(rng) for i in range(4)}} for _ in range(2000)),
    ]
    for state in states:
        assert fast.encode(dict(state)) == plain.encode(dict(state))


class Vault:
    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}

    def personal_key(self, contact_id: UUID, create: bool) -> bytes | None:
        if create:
            self.keys.setdefault(contact_id, bytes(range(32)))
        return self.keys.get(contact_id)


def test_sealing_many_fields_seals_each_as_sealing_one_does() -> None:
    sealer, owner = Sealer(Vault()), uuid4()
    already = sealer.seal("sealed before", owner)
    state: dict[str, Any] = {"name": "Zoë", "email": "zoe@example.com", "details": {"note": "x", "nps": 9}}
    state["again"] = already
    sealer.seal_many(owner, [(state, "name"), (state, "email"), (state["details"], "note"), (state, "again")])

    assert state["again"] == already  # a sealed value is not sealed twice
    assert state["details"]["nps"] == 9
    for holder, name in [(state, "name"), (state, "email"), (state["details"], "note")]:
        assert holder[name].startswith(f"{PREFIX}{owner.hex}:")
    assert len({state["name"][-40:], state["email"][-40:]}) == 2  # a nonce each
    opened = {name: sealer.open(state[name]) for name in ("name", "email", "again")}
    assert opened == {"name": "Zoë", "email": "zoe@example.com", "again": "sealed before"}
    assert sealer.open(state["details"]["note"]) == "x"
    assert len(sealer.seal("Zoë", owner)) == len(state["name"])  # the same form, byte for byte in length
