"""The subscriber contract, machine-readable: an AsyncAPI 3.0.0 document of the three ways a
service receives eventcrm's CloudEvents (Kafka, webhooks, Server-Sent Events).

Built from the event registry and the JSON Schemas ``streams.contract`` writes under
``streams/schemas/`` (each the whole CloudEvent of one type, ``data`` included), so it
cannot drift from the code either. The same inputs give the same document, byte for byte.
``python -m streams.asyncapi [--prefix crm] [--out FILE]`` prints or writes it as JSON;
the API serves it at ``/asyncapi.json``; ``scripts/asyncapi.sh`` checks it with the
official AsyncAPI parser.

The document takes eventcrm's side: eventcrm is the application it describes, so every
operation is ``send`` (it publishes to Kafka, POSTs to webhooks, writes the live stream). A
subscriber does the opposite of each operation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from domain.privacy import STRUCTURED_DETAILS, personal_paths
from domain.registry import AGGREGATES, EVENT_TYPES, aggregate_type_of
from streams.contract import SCHEMA_DIR
from streams.envelope import CONTENT_TYPE
from streams.topics import DEFAULT_PREFIX, topic_for

ASYNCAPI_VERSION = "3.0.0"
#: The document's own version, kept with the API's (api/app.py); each event type carries
#: its own version in its name.
VERSION = "0.1.0"
KAFKA_BINDING = "0.5.0"
HTTP_BINDING = "0.3.0"

#: The paths of the pages subscribers use beside the pushed transports (OpenAPI has them).
STREAM_PATH = "/v1/events/stream"
FEED_PATH = "/v1/events"
#: A webhook attempt not answered within this many seconds counts as failed.
WEBHOOK_TIMEOUT_SECONDS = 10

_SIGNATURE = r"^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$"

_INFO = f"""\
What eventcrm sends to the services that subscribe to its events, and how.

**Perspective.** This document is written from eventcrm's side: eventcrm is the application \
it describes, so every operation is `send` (eventcrm publishes to the Kafka topics, POSTs to \
a subscriber's webhook URL, writes the live stream). A subscriber does the opposite of each \
operation: it receives.

**One event, three ways.** Whichever way a service subscribes, it receives the same CloudEvent \
1.0 in structured mode (`{CONTENT_TYPE}`): the attributes of docs/KAFKA.md, the hash-chain \
extensions `chainhash` and `chainprev`, and `data` as the event type's schema says (one \
message per event type; their payloads are under `components.schemas`). Personal fields \
travel **sealed**, as on Kafka: a string `enc:v1:<contact id, 32 hex>:<base64>`, unreadable \
once the person is erased; a service that needs a name or an address reads it through the API.

- **Kafka**: one topic per aggregate, `<prefix>.<aggregate>.events` (prefix `crm` unless \
`CRM_KAFKA_TOPIC_PREFIX` says otherwise); the record key is the subject (the aggregate id).
- **Webhooks**: eventcrm POSTs each event a subscription selects to the subscription's own URL, \
signed as Standard Webhooks specifies (channel `webhook`).
- **Server-Sent Events**: `GET {STREAM_PATH}` on the API keeps a connection open and writes \
each event as it is recorded (channel `stream`).
- **The pull feed**: `GET {FEED_PATH}?after=&types=&limit=` answers the same CloudEvents a page \
at a time, from any position (described in the OpenAPI document, `/openapi.json`, not here).

**Delivery.** At least once, everywhere: a service that sees the same `(subject, sequence)` \
(or the same `id`) twice ignores the second. Per subject, events come in version order \
(`sequence`); across subjects there is no order to rely on. `position` orders all events as \
the event store committed them.
"""

_KAFKA_CHANNEL = """\
The {aggregate} events, one record per event. The record key is the subject (the aggregate \
id, UTF-8 text), so all events of one {aggregate} are in one partition, in version order; \
the header `content-type` is `{content_type}`; the value is the CloudEvent."""

_WEBHOOK_CHANNEL = f"""\
The URL a subscription names (`POST /v1/subscriptions`); its address is the subscriber's, \
so it is not known here. eventcrm POSTs one CloudEvent per request, as the body, with \
`Content-Type: {CONTENT_TYPE}` and the Standard Webhooks headers `webhook-id`, \
`webhook-timestamp` and `webhook-signature` (see the message headers).

- **Success** is any 2xx answer.
- **Anything else**, or no answer within {WEBHOOK_TIMEOUT_SECONDS} s, is retried with growing \
pauses (backoff) for at least 3 days (the defaults; a deployment may set others); every \
retry carries the same `webhook-id` and body, with a new timestamp and signature.
- **410 Gone** disables the subscription: nothing more is sent to it.
- **Order is kept per subject**: an event of a subject is not sent before the one before it \
was delivered.

To verify a request: compute the HMAC-SHA256, keyed with the subscription's secret (the \
bytes whose base64 follows `whsec_`), of \
`{{webhook-id}}.{{webhook-timestamp}}.{{body}}` (the body's bytes exactly as received), \
base64-encode it, and accept the request when it equals one of the `v1,` signatures in \
`webhook-signature` (two while a secret is being rotated, separated by a space). Refuse \
timestamps far from the present to stop replays, and use `webhook-id` to drop repeats \
(Standard Webhooks libraries do all of this)."""

_STREAM_CHANNEL = f"""\
Server-Sent Events (SSE; AsyncAPI has no `sse` protocol, so the binding is HTTP): \
`GET {STREAM_PATH}` answers `text/event-stream` and keeps the connection open, writing each \
event as it is recorded as one SSE message: `id:` is the event's `position`, `data:` the \
CloudEvent JSON on one line. After a disconnect, connect again with the header \
`Last-Event-ID: <the last id seen>` to go on right after that event, with nothing missed \
(without it, the query parameter `after` says where to start; without either, the stream \
starts with the events recorded from then on). \
Lines that start with `:` are comments sent as heartbeats to keep the connection alive; \
ignore them. The query parameters that choose events are in the OpenAPI document. Once API \
keys exist, a key with the permission `events:read` (role `service`) is needed."""


#: What a subscriber needs to know about a message beyond its schema (docs/KAFKA.md says the
#: same): what a less obvious event means, and fields that records published earlier lack.
_NOTES = {
    "crm.case.skill_set.v1": "`data.skill` is the skill the case needs from now on (null: none), which "
    "routing looks for among the agents; a case opened with a skill records this event right after "
    "`crm.case.opened.v1`.",
    "crm.case.duplicate_linked.v1": "The case repeats `data.original_id` (the same person about the same "
    "subject, within the window) and is closed at once; no `crm.case.closed.v1` follows.",
    "crm.deal.orders_changed.v1": "An order of the deal was placed (`data.order_total`: its total) or "
    "cancelled (`data.order_total` null): `data.amount` is now the total of the deal's orders that stand "
    "and `data.orders` their count, whatever the deal's status (also once it is won).",
}

#: Topics most subscribers can ignore, and why.
_CHANNEL_NOTES = {
    "case_thread": "Bookkeeping: how a repeated case is recognised (a digest of the subject, never the "
    "subject itself). Most subscribers need only `crm.case.duplicate_linked.v1` on the case topic.",
}


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)}


def event_schema(event_type: str) -> dict[str, Any]:
    """The published JSON Schema of one event type's CloudEvent (``streams/schemas/``), as a
    component schema: without ``$schema`` and ``$id`` (in AsyncAPI the schemas are its own
    JSON Schema dialect, and a component is named by its key)."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{event_type}.json").read_text())
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id")}


def _sealed(event_type: str) -> str:
    paths = personal_paths(event_type)
    if not paths:
        return ""
    named = ", ".join(
        f"every key of `data.{p[:-2]}` but {', '.join(f'`{k}`' for k in sorted(STRUCTURED_DETAILS))}"
        if p.endswith(".*")
        else f"`data.{p}`"
        for p in paths
    )
    return f"\n\nSealed personal fields (when not null): {named}."


def _message(event_type: str, schema: dict[str, Any], trait: str) -> dict[str, Any]:
    description = schema.get("description") or f"A {_words(aggregate_type_of(event_type))} event."
    note = f" {_NOTES[event_type]}" if event_type in _NOTES else ""
    return {
        "name": event_type,
        "title": event_type,
        "description": description + note + _sealed(event_type),
        "contentType": CONTENT_TYPE,
        "payload": _ref("components", "schemas", event_type),
        "traits": [_ref("components", "messageTraits", trait)],
    }


def _words(aggregate: str) -> str:
    """``price_list`` → ``price list``."""
    return aggregate.replace("_", " ")


def _traits() -> dict[str, Any]:
    correlation = _ref("components", "correlationIds", "correlationid")
    subject = {"type": "string", "format": "uuid", "description": "the subject: the aggregate id, as UTF-8 text"}
    return {
        "kafka": {
            "summary": "A record on the aggregate's topic.",
            "headers": {
                "type": "object",
                "required": ["content-type"],
                "properties": {"content-type": {"const": CONTENT_TYPE}},
            },
            "correlationId": correlation,
            "bindings": {"kafka": {"key": subject, "bindingVersion": KAFKA_BINDING}},
        },
        "webhook": {
            "summary": "One POST to the subscription's URL.",
            "headers": _webhook_headers(),
            "correlationId": correlation,
            "bindings": {"http": {"bindingVersion": HTTP_BINDING}},
        },
        "stream": {
            "summary": "One Server-Sent Events message: `id:` the position, `data:` the CloudEvent.",
            "correlationId": correlation,
            "bindings": {"http": {"bindingVersion": HTTP_BINDING}},
        },
    }


def _webhook_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["Content-Type", "webhook-id", "webhook-timestamp", "webhook-signature"],
        "properties": {
            "Content-Type": {"const": CONTENT_TYPE},
            "webhook-id": {
                "type": "string",
                "format": "uuid",
                "description": "the CloudEvent's `id`: the same on every retry of this event",
            },
            "webhook-timestamp": {
                "type": "string",
                "pattern": "^[0-9]+$",
                "description": "when this attempt was sent, in seconds since the Unix epoch",
            },
            "webhook-signature": {
                "type": "string",
                "pattern": _SIGNATURE,
                "description": "`v1,` and the base64 of the HMAC-SHA256, keyed with the subscription's "
                'secret (the bytes whose base64 follows `whsec_`), of "{webhook-id}.{webhook-timestamp}.{body}"; '
                "two such, separated by a space, while two secrets overlap during a rotation",
            },
        },
    }


def document(prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document for topics named with ``prefix``; the same for the same
    event classes, schema files and prefix."""
    event_types = sorted(EVENT_TYPES)
    schemas = {event_type: event_schema(event_type) for event_type in event_types}

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for aggregate in AGGREGATES:
        channel_id = f"kafka.{aggregate}"
        own = [t for t in event_types if aggregate_type_of(t) == aggregate]
        note = f"\n\n{_CHANNEL_NOTES[aggregate]}" if aggregate in _CHANNEL_NOTES else ""
        channels[channel_id] = {
            "address": topic_for(aggregate, prefix),
            "title": f"{_words(aggregate)} events on Kafka",
            "description": _KAFKA_CHANNEL.format(aggregate=_words(aggregate), content_type=CONTENT_TYPE) + note,
            "servers": [_ref("servers", "kafka")],
            "messages": {t: _message(t, schemas[t], "kafka") for t in own},
        }
        operations[channel_id] = {
            "action": "send",
            "title": f"Publish the {_words(aggregate)} events",
            "summary": f"eventcrm's relay publishes every {_words(aggregate)} event; subscribers consume the topic.",
            "channel": _ref("channels", channel_id),
            "messages": [_ref("channels", channel_id, "messages", t) for t in own],
        }
    channels["webhook"] = {
        "address": None,
        "title": "A subscriber's webhook",
        "description": _WEBHOOK_CHANNEL,
        "servers": [_ref("servers", "subscriber")],
        "messages": {t: _message(t, schemas[t], "webhook") for t in event_types},
    }
    operations["webhook"] = {
        "action": "send",
        "title": "Deliver to a webhook",
        "summary": "eventcrm POSTs each event a subscription selects to the subscription's URL.",
        "channel": _ref("channels", "webhook"),
        "bindings": {"http": {"method": "POST", "bindingVersion": HTTP_BINDING}},
        "messages": [_ref("channels", "webhook", "messages", t) for t in event_types],
    }
    channels["stream"] = {
        "address": STREAM_PATH,
        "title": "The live stream (Server-Sent Events)",
        "description": _STREAM_CHANNEL,
        "servers": [_ref("servers", "api")],
        "messages": {t: _message(t, schemas[t], "stream") for t in event_types},
    }
    operations["stream"] = {
        "action": "send",
        "title": "Stream to a connected client",
        "summary": f"eventcrm writes each event to every open `GET {STREAM_PATH}`.",
        "channel": _ref("channels", "stream"),
        "security": [_ref("components", "securitySchemes", "apiKey")],
        "bindings": {"http": {"method": "GET", "bindingVersion": HTTP_BINDING}},
        "messages": [_ref("channels", "stream", "messages", t) for t in event_types],
    }

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:eventcrm:events",
        "info": {
            "title": "eventcrm events",
            "version": VERSION,
            "description": _INFO,
            "externalDocs": {
                "description": "CloudEvents 1.0, the envelope every message is",
                "url": "https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md",
            },
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messageTraits": _traits(),
            "correlationIds": {
                "correlationid": {
                    "description": "Shared by everything one request or process set off.",
                    "location": "$message.payload#/correlationid",
                }
            },
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <API key>` (`crm keys create`), once any key "
                    "exists; without keys (embedded mode, loopback only) none is needed.",
                }
            },
        },
    }


def _servers() -> dict[str, Any]:
    return {
        "kafka": {
            "host": "{bootstrap}",
            "protocol": "kafka",
            "title": "The Kafka cluster eventcrm publishes to",
            "description": "The deployment's brokers (`CRM_KAFKA_BOOTSTRAP`).",
            "variables": {"bootstrap": {"default": "localhost:9092", "description": "a broker's host:port"}},
        },
        "api": {
            "host": "{host}",
            "protocol": "http",
            "title": "The eventcrm API",
            "description": "Where `crm serve` listens; the live stream and the pull feed are here.",
            "variables": {"host": {"default": "localhost:8000", "description": "the API's host:port"}},
        },
        "subscriber": {
            "host": "{host}",
            "protocol": "https",
            "title": "A subscriber's server",
            "description": "The host of the URL a subscription names: the subscriber's, not eventcrm's.",
            "variables": {"host": {"description": "the host (and port) of the subscription's URL"}},
        },
    }


def render(prefix: str = DEFAULT_PREFIX) -> str:
    """The document as the API serves it and the CLI writes it: JSON, two-space indents."""
    return json.dumps(document(prefix), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.asyncapi", description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="the Kafka topic prefix (default: %(default)s)")
    parser.add_argument("--out", type=Path, help="write the document here instead of printing it")
    args = parser.parse_args(argv)
    text = render(args.prefix)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
