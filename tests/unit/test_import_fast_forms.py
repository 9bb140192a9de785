"""The import's fast forms answer what the plain ones answer: an interaction's fingerprint
is ``fingerprint`` (the SHA-256 of the command's ``repr``), so claims stored before and
after compare alike; a batch's claims are the answers the command path would record;
``decode_fast`` reads a stored event as the mapper's ``decode`` does (upcasting included,
and raising what it raises); sealing many fields seals each value's very JSON."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import StoredEvent

from commands.contact import CreateContact, RecordInteraction
from commands.importing.claims import ClaimMaker
from commands.importing.rows import Row
from commands.privacy import PREFIX, Sealer
from commands.recorders import IdempotencyClaim, fingerprint
from commands.results import CommandResult
from commands.store import CrmEventStore, CrmMapper
from domain.contact import Contact
from domain.integrity import json_default
from domain.meta import Meta
from domain.scoring import ScoringRules
from tests.unit.test_import_encoding import random_value

META = Meta("importer", "import:run", "import/crm/interaction/I1")
#: Text ``repr`` writes with escapes or other quotes, and text beyond ASCII.
AWKWARD = ["plain", "it's", 'say "hi"', "both ' and \"", "back\\slash", "Zoë", "\u2028", "ctl\x01\n\t", "😀", ""]
TIMES: list[datetime | None] = [
    None,
    datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
    datetime(2025, 3, 1, 9, 30, 5, 120, tzinfo=UTC),
    datetime(2025, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(0))),
    datetime(2025, 3, 1, 9, 30),
]


def interactions(rng: random.Random, count: int) -> list[RecordInteraction]:
    values: list[Any] = [*AWKWARD, 0, -7, 2**70, 1.5, float("nan"), float("inf"), 1e16, True, False, None]
    made = []
    for _ in range(count):
        details = {rng.choice(["nps", "note", "é", "a'b", "x"]): rng.choice(values) for _ in range(rng.randrange(4))}
        made.append(
            RecordInteraction(
                contact_id=uuid4(),
                interaction_type=rng.choice(AWKWARD + ["email_opened"]),
                occurred_at=rng.choice(TIMES),
                details=details,
                expected_version=rng.choice([None, None, 0, 12]),
            )
        )
    return made


def test_an_interactions_fingerprint_is_the_sha256_of_its_repr() -> None:
    command = RecordInteraction(
        UUID("07209518-5e82-4d33-8465-c59a2055d1be"),
        "email_opened",
        datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        {"nps": 9, "note": "fast one"},
    )
    # The form claims were stored with: it must never change for a given command.
    stored = (
        "RecordInteraction(contact_id=UUID('07209518-5e82-4d33-8465-c59a2055d1be'), interaction_type='email_opened', "
        "occurred_at=datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), "
        "details={'nps': 9, 'note': 'fast one'}, expected_version=None)"
    )
    expected = hashlib.sha256(stored.encode()).hexdigest()
    maker = ClaimMaker()
    assert fingerprint(command) == expected
    assert maker.fingerprint(command) == expected
    assert maker.fingerprint(command) == expected  # the contact's id as text, now remembered


def test_the_fast_fingerprint_is_the_fingerprint_of_any_command() -> None:
    rng, maker = random.Random(4), ClaimMaker()
    commands: list[object] = [
        *interactions(rng, 3000),
        # Not plain enough for the fast form: nested details, a key that is not text, another class.
        RecordInteraction(uuid4(), "call", None, {"nested": {"a": [1, "b"]}}),
        RecordInteraction(uuid4(), "call", None, {1: "one"}),  # type: ignore[dict-item]
        RecordInteraction(uuid4(), "call", None, {"at": datetime(2025, 1, 1, tzinfo=UTC)}),
        CreateContact(name="Zoë", email="zoe@example.com", tags=("vip",)),
    ]
    for command in commands:
        assert maker.fingerprint(command) == fingerprint(command)


def reference_claims(changes: list[tuple[Row, CommandResult, list[tuple[Any, list[Any]]]]]) -> list[IdempotencyClaim]:
    """What a batch claimed before its claims had a fast form."""
    claims, end = [], -1
    for row, result, saved in changes:
        count = sum(len(events) for _, events in saved)
        end += count
        if row.key is not None and count:
            response = {"id": str(result.id), "version": result.version, "extra": result.extra}
            claims.append(IdempotencyClaim(row.key, fingerprint(row.command), response, end))
    return claims


def test_a_batchs_claims_are_the_answers_the_commands_would_record() -> None:
    rng = random.Random(5)
    contacts = [uuid4() for _ in range(20)]
    changes: list[tuple[Row, CommandResult, list[tuple[Any, list[Any]]]]] = []
    for number, command in enumerate(interactions(rng, 300)):
        contact = rng.choice(contacts)
        command = RecordInteraction(contact, command.interaction_type, command.occurred_at, command.details)
        key = None if number % 7 == 0 else f"import/crm/interaction/I{number}"
        saved: list[tuple[Any, list[Any]]] = [(object(), [object()] * rng.choice([0, 1, 1, 2]))]
        if number % 11 == 0:
            saved.append((object(), [object()]))  # a row that saved two aggregates
        result = CommandResult(UUID(str(contact)), number, None, {"lead_score": number})
        changes.append((Row(number, f"I{number}", command, META, None, key), result, saved))
    maker = ClaimMaker()
    for _ in range(2):  # the second batch finds its contacts' ids as text already
        assert maker.claims(changes) == reference_claims(changes)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CrmEventStore]:
    opened = CrmEventStore(f"sqlite:///{tmp_path / 'events.sqlite'}")
    yield opened
    opened.close()


def same_event(fast: tuple[Any, Any], plain: tuple[Any, Any]) -> None:
    """The same class, the same fields in the same order (``repr``: NaN equals itself), the same chain."""
    assert type(fast[0]) is type(plain[0])
    assert repr(list(fast[0].__dict__.items())) == repr(list(plain[0].__dict__.items()))
    assert fast[1] == plain[1]


def test_decode_fast_reads_recorded_events_as_decode_does(store: CrmEventStore) -> None:
    contact = Contact.create(
        name="Zoë Ñúñez", email="zoe@example.com", tags=("vip",), owner="ana", lifecycle_stage="lead", meta=META
    )
    contact.record_interaction("call", datetime(2025, 3, 1, 9, 30, tzinfo=UTC), {"note": "ok"}, ScoringRules(), META)
    contact.record_interaction("survey_answered", datetime.now(UTC), {"nps": 9, "amount": 2.5}, ScoringRules(), META)
    store.save(contact)
    recorded = store.recorder.select_events(contact.id)
    assert len(recorded) == 3
    mapper = cast(CrmMapper, store.mapper)
    for stored in recorded:
        same_event(mapper.decode_fast(stored), mapper.decode(stored))
        assert mapper.decode_fast(stored)[1] is not None  # chained


def random_state_value(rng: random.Random) -> Any:
    """A value of a stored state, with objects that merely look transcoded among them."""
    return random_value(
        rng,
        floats=(1.5, 1e16, 3.0, -0.0),
        others=lambda: (uuid4(), datetime.now(UTC), META),
        keys=("a", "_type_", "_data_", "é"),
        width=2,
        awkward=AWKWARD,
    )


def test_decode_fast_reads_any_state_as_decode_does(store: CrmEventStore) -> None:
    """Transcoded values at any depth, objects that merely look transcoded, JSON msgspec
    refuses (NaN, numbers out of a float's range, lone surrogates), a state to upcast."""
    rng, mapper = random.Random(6), cast(CrmMapper, store.mapper)
    encode = mapper.transcoder.encode
    topic = "crm.contact.interaction_recorded.v1"
    states = [
        {"timestamp": datetime.now(UTC), **{f"k{i}": random_state_value(rng) for i in range(4)}} for _ in range(2000)
    ]
    written = [encode(state) for state in states]
    written += [
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2025-03-01T09:30:00+00:00"},"n":NaN,"big":1e400}',
        b'{"text":"\\ud800 alone","whole":123456789012345678901234567890}',
        b'{"looks":{"_type_":"uuid_hex","_data_":"0123456789abcdef0123456789abcdef","more":1},"x":{"_type_":1}}',
    ]
    refused = 0
    for state in written:
        stored = StoredEvent(uuid4(), 7, topic, state)
        try:
            plain = mapper.decode(stored)
        except Exception as error:  # a random object named an unknown transcoding
            refused += 1
            with pytest.raises(type(error)):
                mapper.decode_fast(stored)
        else:
            same_event(mapper.decode_fast(stored), plain)
    assert refused < len(written) // 2
    # A contact created before its event class had version 2: upcast on the way in.
    old = {"timestamp": datetime.now(UTC), "originator_topic": "crm.contact", "name": "Ada", "meta": META}
    stored = StoredEvent(uuid4(), 1, "crm.contact.created.v1", encode(old))
    fast = mapper.decode_fast(stored)
    same_event(fast, mapper.decode(stored))
    assert fast[0].__dict__["account_id"] is None


def test_decode_fast_raises_what_decode_raises(store: CrmEventStore) -> None:
    mapper = cast(CrmMapper, store.mapper)
    for state in (b'{"x":{"_type_":"unknown","_data_":"1"}}', b"not json", b'{"a":"\xff"}'):
        stored = StoredEvent(uuid4(), 1, "crm.contact.interaction_recorded.v1", state)
        with pytest.raises(Exception) as plain:
            mapper.decode(stored)
        with pytest.raises(type(plain.value)):
            mapper.decode_fast(stored)


class Vault:
    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}

    def personal_key(self, contact_id: UUID, create: bool) -> bytes | None:
        if create:
            self.keys.setdefault(contact_id, AESGCM.generate_key(bit_length=256))
        return self.keys.get(contact_id)


def opened_plaintext(token: str, key: bytes, owner: UUID) -> bytes:
    head = f"{PREFIX}{owner.hex}:"
    assert token.startswith(head)
    raw = base64.urlsafe_b64decode(token[len(head) :])
    return AESGCM(key).decrypt(raw[:12], raw[12:], owner.bytes)


def test_sealing_many_fields_seals_the_json_sealing_one_seals() -> None:
    vault, ciphers, owner = Vault(), cast(dict[bytes, AESGCM], {}), uuid4()
    values: list[Any] = [*AWKWARD, "x" * 500, 9, 2.5, True, ["a", "é"], {"k": "Zoë"}]
    for given in (None, vault.personal_key(owner, True)):  # the key looked up, or given as a batch gives it
        sealer = Sealer(vault, ciphers=ciphers)
        holder = {f"f{i}": value for i, value in enumerate(values)}
        sealer.seal_many(owner, [(holder, name) for name in holder], given)
        one = Sealer(vault)
        for i, value in enumerate(values):
            token, single = holder[f"f{i}"], one.seal(value, owner)
            expected = json.dumps(value, default=json_default).encode()
            assert opened_plaintext(token, vault.keys[owner], owner) == expected
            assert opened_plaintext(single, vault.keys[owner], owner) == expected
            assert len(token) == len(single)
            assert sealer.open(token) == one.open(single) == value
    assert list(ciphers) == [vault.keys[owner]]  # made by the first sealer, found by the second
