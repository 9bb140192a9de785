"""Tamper evidence: every event's hash covers a canonical form of the event and the hash
of the previous event of its aggregate, so an altered, missing or reordered event breaks
the chain. Pure: the same function runs when an event is recorded, when the event store is
verified, and when a Kafka topic is verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

#: The hash a chain starts from (the "previous" of an aggregate's first event).
GENESIS = "0" * 64

#: Attributes of a stored event that are about the record, not its content: the CloudEvent
#: carries them outside ``data`` (or, like the chain's own hashes, as extensions).
OUTSIDE_DATA = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp", "meta", "chain"})


def payload(event: Any) -> dict[str, Any]:
    """The event's content in the JSON form its CloudEvent carries as ``data``: what the
    hash covers, what Kafka consumers decode and what summaries read."""
    raw = {k: v for k, v in vars(event).items() if k not in OUTSIDE_DATA}
    loaded: dict[str, Any] = json.loads(json.dumps(raw, default=json_default))
    return loaded


def json_default(obj: Any) -> Any:
    """How event values that JSON lacks are written, everywhere (envelopes included)."""
    if isinstance(obj, datetime):
        return format_time(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, UUID | Decimal):
        return str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    raise TypeError(f"cannot put {type(obj).__name__} in an event")


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical(
    event_type: str,
    subject: str,
    sequence: int,
    time: str,
    data: Mapping[str, Any],
    actor: str,
    correlation_id: str,
    causation_id: str,
) -> bytes:
    """Sorted keys, no spaces, times in UTC: the same bytes from a stored event and from
    its CloudEvent. Personal fields enter sealed, so erasing a key breaks nothing."""
    form = {
        "type": event_type,
        "subject": subject,
        "sequence": sequence,
        "time": time,
        "data": data,
        "actor": actor,
        "correlationid": correlation_id,
        "causationid": causation_id,
    }
    return json.dumps(form, sort_keys=True, separators=(",", ":"), default=json_default).encode()


def chain_hash(previous: str, form: bytes) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + form).hexdigest()
