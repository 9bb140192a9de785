"""The relay's record of an event is the CloudEvent every other path makes of it: the bytes
``from_domain_event(…).to_json()`` gives (which the in-process stream and the feed send),
for every event type, with and without a hash chain."""

from __future__ import annotations

import random
import uuid

import pytest

from streams.envelope import event_id, from_domain_event
from streams.outbox import event_id as relay_event_id
from streams.outbox import outgoing
from tests.every_event import every_event

EVENTS = every_event()
CHAIN = {"prev": "0" * 64, "hash": "ab" * 32}


@pytest.mark.parametrize("chain", [None, CHAIN], ids=["unchained", "chained"])
def test_the_relay_publishes_the_bytes_of_the_envelope_of_every_event_type(chain):
    for position, event in enumerate(EVENTS, start=1):
        envelope = from_domain_event(event, position, chain)
        record = outgoing(event, position, chain)
        assert record.value == envelope.to_json(), envelope.type
        assert (record.aggregate_type, record.subject, record.sequence, record.position, record.chainhash) == (
            envelope.aggregate_type,
            envelope.subject,
            envelope.sequence,
            position,
            envelope.chainhash,
        )
        assert record.key == envelope.subject.encode()


def test_the_relay_names_every_event_by_the_id_the_envelope_gives_it():
    rng = random.Random(13)
    for _ in range(5000):
        subject, version = str(uuid.UUID(int=rng.getrandbits(128))), rng.randint(1, 10**7)
        assert relay_event_id(subject, version) == event_id(subject, version)
