"""The CloudEvents 1.0 envelope (structured mode) every consumer receives.

This is the published contract of docs/KAFKA.md: the same bytes travel on Kafka and, in
embedded mode, through the in-process stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import msgspec

from domain.instants import is_aware
from domain.integrity import format_time, payload
from domain.integrity import json_default as _json_default

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"

#: Event ids are derived from (aggregate id, version): a republished event keeps its id.
_EVENT_ID_NAMESPACE = UUID("6f1c7c8e-3a0b-4f43-9d47-6d3f4f0c2b11")

#: The attributes every eventcrm CloudEvent carries (docs/KAFKA.md), in the order written.
ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "data",
    "sequence",
    "position",
    "actor",
    "correlationid",
    "causationid",
)
#: Those a reader insists on: ``datacontenttype`` may be left out (JSON is the default).
_REQUIRED = tuple(name for name in ATTRIBUTES if name != "datacontenttype")


class InvalidEnvelope(ValueError):
    """The bytes are not an eventcrm CloudEvent."""


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    sequence: int
    position: int
    actor: str
    correlationid: str
    causationid: str
    #: The hash chain (extension attributes): this event's hash and its predecessor's.
    chainhash: str | None = None
    chainprev: str | None = None

    def with_data(self, data: dict[str, Any]) -> Envelope:
        """The same envelope with other ``data`` (its personal fields opened, say): a copy
        of the attributes, not a round through the generated __init__ (``dataclasses.replace``
        costs several times as much, once per event of a rebuild)."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__, data=data)
        return copy

    @property
    def aggregate_type(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": format_time(self.time),
            "datacontenttype": "application/json",
            "data": self.data,
            "sequence": self.sequence,
            "position": self.position,
            "actor": self.actor,
            "correlationid": self.correlationid,
            "causationid": self.causationid,
            **({"chainhash": self.chainhash, "chainprev": self.chainprev} if self.chainhash else {}),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), default=_json_default).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Decodes a CloudEvent; raises ``InvalidEnvelope`` when it is not one.

        A well-formed envelope (every attribute of its JSON type) takes msgspec's typed
        decoder, about a quarter of the cost of ``json.loads`` and the checks below; anything
        else takes the lenient path, so both accept and refuse exactly the same bytes."""
        try:
            wire = _WIRE.decode(raw)
        except msgspec.DecodeError:  # also a value of an unexpected type: let the lenient path judge
            return cls._from_json_leniently(raw)
        if wire.specversion != SPEC_VERSION:
            raise InvalidEnvelope(f"unsupported specversion {wire.specversion!r}")
        try:
            time = parse_time(wire.time)
        except ValueError as exc:
            raise InvalidEnvelope(str(exc)) from exc
        envelope = object.__new__(cls)
        # Filled like msgspec fills a frozen dataclass: the generated __init__ would set
        # each field through object.__setattr__, a third of the decoding's cost.
        envelope.__dict__.update(
            id=wire.id,
            source=wire.source,
            type=wire.type,
            subject=wire.subject,
            time=time,
            data=wire.data,
            sequence=wire.sequence,
            position=wire.position,
            actor=wire.actor,
            correlationid=wire.correlationid,
            causationid=wire.causationid,
            chainhash=wire.chainhash,
            chainprev=wire.chainprev,
        )
        return envelope

    @classmethod
    def _from_json_leniently(cls, raw: bytes | str) -> Envelope:
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEnvelope(f"not JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise InvalidEnvelope("a CloudEvent is a JSON object")
        missing = [name for name in _REQUIRED if name not in obj]
        if missing:
            raise InvalidEnvelope(f"missing attributes: {', '.join(missing)}")
        if obj["specversion"] != SPEC_VERSION:
            raise InvalidEnvelope(f"unsupported specversion {obj['specversion']!r}")
        try:
            return cls(
                id=str(obj["id"]),
                source=str(obj["source"]),
                type=str(obj["type"]),
                subject=str(obj["subject"]),
                time=parse_time(obj["time"]),
                data=dict(obj["data"]),
                sequence=int(obj["sequence"]),
                position=int(obj["position"]),
                actor=str(obj["actor"]),
                correlationid=str(obj["correlationid"]),
                causationid=str(obj["causationid"]),
                chainhash=obj.get("chainhash"),
                chainprev=obj.get("chainprev"),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidEnvelope(str(exc)) from exc


class _Wire(msgspec.Struct):
    """An envelope as its JSON types spell it (``time`` still text: ``parse_time`` reads it
    as the lenient path does)."""

    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    data: dict[str, Any]
    sequence: int
    position: int
    actor: str
    correlationid: str
    causationid: str
    chainhash: str | None = None
    chainprev: str | None = None


_WIRE = msgspec.json.Decoder(_Wire)


def event_id(subject: str, version: int) -> str:
    """The CloudEvent id of an aggregate's event: the same every time it is published."""
    return str(uuid5(_EVENT_ID_NAMESPACE, f"{subject}:{version}"))


def from_domain_event(event: Any, position: int, chain: dict[str, str] | None = None) -> Envelope:
    """Wraps a stored domain event (with its notification id as ``position`` and, as
    recorded, its hash ``chain``)."""
    event_type: str = type(event).TOPIC
    aggregate_type = event_type.split(".")[1]
    subject = str(event.originator_id)
    meta = event.meta
    return Envelope(
        id=event_id(subject, event.originator_version),
        source=f"/eventcrm/{aggregate_type}",
        type=event_type,
        subject=subject,
        time=event.timestamp,
        # The JSON form, so that the in-process stream hands projectors exactly the values
        # a Kafka consumer would decode.
        data=payload(event),
        sequence=event.originator_version,
        position=position,
        actor=meta.actor,
        correlationid=meta.correlation_id,
        causationid=meta.causation_id,
        chainhash=chain["hash"] if chain else None,
        chainprev=chain["prev"] if chain else None,
    )


def parse_time(value: str | datetime) -> datetime:
    """An RFC 3339 time (or an aware datetime) in UTC; ``ValueError`` without a zone."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if parsed.tzinfo is UTC:
        return parsed  # the usual case (a ``Z``): already what the rest would make of it
    if not is_aware(parsed):
        raise ValueError(f"time without zone: {value!r}")
    return parsed.astimezone(UTC)
