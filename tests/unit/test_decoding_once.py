"""Each CloudEvent is decoded once, by msgspec when it is well formed, and the result is the
one the lenient decoder gives; a batch whose events come again after later ones merges
to what the row-by-row statements would leave."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from projections.oltp.rows import Patch, merge
from streams.envelope import Envelope, InvalidEnvelope, from_domain_event
from streams.opening import OpenedSource
from streams.records import Record
from tests.unit.test_envelope import contact_events


def wire(**changes: object) -> bytes:
    _, (created, _) = contact_events()
    body = json.loads(from_domain_event(created, 5).to_json())
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


@pytest.mark.parametrize(
    "raw",
    [
        wire(),
        wire(time="2026-03-01T10:00:00+02:00"),  # another offset: converted to UTC
        wire(time="2026-03-01T10:00:00.1234567Z"),  # more digits than microseconds
        wire(sequence="5", position="9"),  # numbers as text: only the lenient decoder takes them
        wire(id=17, chainhash="abc", chainprev=None),
        wire(datacontenttype=None),  # left out: JSON is the default
    ],
)
def test_the_fast_decoder_answers_what_the_lenient_one_does(raw):
    fast, lenient = Envelope.from_json(raw), Envelope._from_json_leniently(raw)
    assert fast == lenient
    assert fast.time.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (wire(time="2026-03-01T10:00:00"), "without zone"),
        (wire(specversion="0.3"), "unsupported specversion"),
        (wire(subject=None), "missing attributes: subject"),
        (wire(data=[1, 2]), ""),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_what_the_lenient_decoder_refuses_the_fast_one_refuses_too(raw, message):
    with pytest.raises(InvalidEnvelope, match=message):
        Envelope._from_json_leniently(raw)
    with pytest.raises(InvalidEnvelope, match=message):
        Envelope.from_json(raw)


def test_an_opened_record_carries_its_envelope_and_keeps_the_sealed_bytes():
    raw = wire(data={"name": "sealed:Ada"})
    record = Record("t", 0, 3, b"k", raw)

    class One:
        def poll(self, max_records, timeout):
            return [record, Record("t", 0, 4, b"k", b"not json")]

    opened, garbage = OpenedSource(One(), lambda data: {**data, "name": "Ada"}).poll(10, 0)  # type: ignore[arg-type]
    assert opened.value == raw and opened == record  # a dead letter keeps what came in
    assert opened.decoded().data == {"name": "Ada"}
    assert garbage.envelope is None
    with pytest.raises(InvalidEnvelope):
        garbage.decoded()


def patch(version: int, **values: object) -> Patch:
    return Patch("contacts", "c1", version, version * 10, version == 1, dict(values))


def test_a_patch_delivered_again_after_later_ones_changes_nothing_in_the_batch():
    merged = merge([patch(1, name="A", score=0), patch(2, score=10), patch(3, score=30), patch(2, score=10)])
    assert [(p.version, p.position, p.creates, p.values) for p in merged] == [(3, 30, True, {"name": "A", "score": 30})]
    # In order, every patch counts.
    assert merge([patch(2, score=10), patch(3, owner="ana")])[0].values == {"score": 10, "owner": "ana"}


def test_time_offsets_are_kept_as_the_same_instant():
    moment = Envelope.from_json(wire(time="2026-03-01T10:00:00+02:00")).time
    assert moment == datetime(2026, 3, 1, 10, tzinfo=timezone(timedelta(hours=2)))
