"""The event store as subscribers read it over HTTP: a pull feed of CloudEvents from any
position, and the same events live as Server-Sent Events.

Both answer exactly what the relay puts on Kafka (``streams/feed.py``: the same JSON,
personal fields sealed, the hash chain attached), in position order. A position is the
event's gap-free place in the event store's log, kept forever: a reader that remembers the
last position it saw goes on from there and misses nothing, repeats nothing.

- ``GET /v1/events?after=N``: up to ``limit`` events after position ``N`` and ``next``, the
  position to ask after next time (also in a ``Link: <…>; rel="next"`` header).
- ``GET /v1/events/stream``: the events as they are recorded, one SSE message each (``id``:
  the position, ``data``: the CloudEvent on one line, no ``event`` line, so an
  ``EventSource`` fires ``onmessage``). It starts after ``Last-Event-ID`` (sent by an
  ``EventSource`` that reconnects), else after ``after`` (``after=0``: from the very first
  event), else at the newest event: only events recorded from then on. A ``: keep-alive``
  comment follows every ``heartbeat`` seconds of silence (default ``HEARTBEAT``). The
  client must send ``Accept: text/event-stream`` (an ``EventSource`` does; else 406): the
  answer never ends, and a client that reads answers to their end would wait for ever.

Both choose events by type pattern (``types=crm.deal.*``, repeated or comma-separated) and
by subject (``subjects=<aggregate id>``, repeated).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.access import permit
from api.deps import ServicesDep
from api.problems import Problem
from commands.limits import MAX_INT
from streams.envelope import Envelope
from streams.faults import is_outage
from streams.feed import MAX_LIMIT, Feed, UnknownTypes, event_types

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/events", tags=["events"])

#: Events a page of the pull feed holds unless ``limit`` says otherwise.
DEFAULT_LIMIT = 100
#: Seconds a stream may stay silent before it writes a keep-alive comment, so that proxies
#: and load balancers do not close it; ``heartbeat`` (1 to 60) sets it per stream.
HEARTBEAT = 15
#: Seconds a stream that has sent everything waits before it reads the store again.
POLL = 0.5
#: Seconds a stream waits before reading again when the event store is not answering.
OUTAGE_PAUSE = 2.0
#: Milliseconds an ``EventSource`` waits before reconnecting (sent once, as ``retry:``).
RETRY_MS = 2000
#: Events one read of the stream takes at most.
STREAM_BATCH = 100
#: The media type of the stream, which its clients must accept.
EVENT_STREAM = "text/event-stream"

Pattern = Annotated[str, Field(max_length=200)]
Position = Annotated[int, Field(ge=0, le=MAX_INT)]


class EventPage(BaseModel):
    """Events in position order, and the position to ask after next time."""

    events: list[dict[str, object]] = Field(
        description="CloudEvents 1.0 (structured mode), exactly as published on Kafka: see docs/KAFKA.md"
    )
    next: int = Field(
        description="ask `after` this next time: past the events answered and past those the filters left "
        "out; equal to `after` when nothing newer is recorded yet"
    )


@dataclass(frozen=True)
class Chosen:
    """Which events a reader wants: of these types (all when every type), these subjects
    (all when empty)."""

    types: tuple[str, ...]
    subjects: frozenset[str]


async def chosen_events(
    types: Annotated[
        list[Pattern] | None,
        Query(
            description="event type patterns, `*` and `?` as in file names (`crm.deal.*`, "
            "`crm.contact.created.v1`); repeat the parameter or separate with commas. Default: every type. "
            "A pattern that matches no type is refused (`unknown_event_type`)"
        ),
    ] = None,
    subjects: Annotated[
        list[UUID] | None,
        Query(description="only the events of these aggregates (contact, deal, case… ids); repeat the parameter"),
    ] = None,
) -> Chosen:
    patterns = [p for value in types or () for p in value.split(",")]
    try:
        chosen_types = event_types(patterns)
    except UnknownTypes as exc:
        raise Problem(422, "unknown_event_type", str(exc), patterns=exc.patterns) from None
    return Chosen(chosen_types, frozenset(str(subject) for subject in subjects or ()))


ChosenDep = Annotated[Chosen, Depends(chosen_events)]


@router.get(
    "",
    dependencies=[permit("events:read")],
    response_class=Response,
    responses={
        200: {
            "model": EventPage,
            "description": 'A page of events; a `Link: <…>; rel="next"` header names the next page',
            "content": {"application/json": {}},
        }
    },
)
def read_events(
    request: Request,
    services: ServicesDep,
    chosen: ChosenDep,
    after: Annotated[Position, Query(description="the position to read after; 0: from the first event")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="events per page at most")] = DEFAULT_LIMIT,
) -> Response:
    """Up to ``limit`` events recorded after position ``after``, in position order, and
    ``next``: read after it next time to go on with no gap and no repeat. A page with fewer
    than ``limit`` events reached the newest one; an empty page means nothing newer yet."""
    page = services.feed.read(after, limit, chosen.types, chosen.subjects)
    # The CloudEvents' own bytes, as on Kafka, not re-encoded.
    body = b'{"events":[' + b",".join(event.to_json() for event in page.events) + b'],"next":%d}' % page.next
    return Response(body, media_type="application/json", headers={"Link": _next_link(request, page.next)})


def _next_link(request: Request, position: int) -> str:
    """The same request, after ``position``."""
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "after"]
    return f'<{request.url.path}?{urlencode([("after", position), *kept])}>; rel="next"'


@router.get(
    "/stream",
    dependencies=[permit("events:read")],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events, one message per event: `id:` its position, `data:` the "
            "CloudEvent on one line; `: keep-alive` comments while nothing happens",
            "content": {EVENT_STREAM: {}},
        },
        406: {"description": "the request does not accept `text/event-stream`"},
    },
)
async def stream_events(
    request: Request,
    services: ServicesDep,
    chosen: ChosenDep,
    after: Annotated[
        Position | None,
        Query(description="start after this position (0: from the first event); default: the newest, at connection"),
    ] = None,
    heartbeat: Annotated[
        int, Query(ge=1, le=60, description="seconds of silence after which a `: keep-alive` comment is written")
    ] = HEARTBEAT,
    last_event_id: Annotated[
        Position | None,
        Header(
            description="the id of the last message received: an EventSource sends it when it reconnects; "
            "it takes precedence over `after`"
        ),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> StreamingResponse:
    """The events as they are recorded, for as long as the client stays connected; it ends
    when the server stops (an ``EventSource`` reconnects by itself, ``retry`` ms later,
    sending ``Last-Event-ID``). The client must accept ``text/event-stream``: a client
    that reads an answer to its end would otherwise wait for ever."""
    if not _accepts_event_stream(accept):
        raise Problem(
            406,
            "not_acceptable",
            "this route answers text/event-stream only, and never ends: send 'Accept: text/event-stream' "
            "(an EventSource does), or read pages from /v1/events",
        )
    start = last_event_id if last_event_id is not None else after
    if start is None:
        start = await run_in_threadpool(services.feed.head)
    return StreamingResponse(
        _messages(request, services.feed, chosen, start, heartbeat),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _accepts_event_stream(accept: str | None) -> bool:
    """True when ``Accept`` names ``text/event-stream`` (not merely ``*/*``) with a q above 0."""
    for item in (accept or "").split(","):
        media_type, *parameters = (part.strip().lower() for part in item.split(";"))
        if media_type != EVENT_STREAM:
            continue
        weights = [p.partition("=")[2] for p in parameters if p.partition("=")[0].strip() == "q"]
        try:
            return not weights or float(weights[0]) > 0
        except ValueError:
            return False
    return False


async def _messages(request: Request, feed: Feed, chosen: Chosen, after: int, heartbeat: int) -> AsyncIterator[str]:
    """Each chosen event after ``after``, then each one recorded later. Every read of the
    store runs in a worker thread; between reads, a stream that is up to date sleeps on
    the event loop and holds no thread. Ends when the client goes away or the server stops."""
    yield f"retry: {RETRY_MS}\n\n"
    position = after
    written = time.monotonic()
    failing = False
    while not await _should_end(request):
        try:
            page = await run_in_threadpool(feed.read, position, STREAM_BATCH, chosen.types, chosen.subjects)
        except Exception as exc:
            if not is_outage(exc):
                raise
            if not failing:
                log.warning("event stream after %s: the event store is not answering, retrying: %s", position, exc)
            failing = True
            await anyio.sleep(OUTAGE_PAUSE)
        else:
            if failing:
                log.info("event stream after %s: the event store answers again", position)
            failing = False
            for event in page.events:
                yield _message(event)
            position = page.next
            if page.events:
                written = time.monotonic()
            if len(page.events) == STREAM_BATCH:
                continue  # more may be waiting: read on at once
            await anyio.sleep(POLL)
        if time.monotonic() - written >= heartbeat:
            yield ": keep-alive\n\n"
            written = time.monotonic()


def _message(event: Envelope) -> str:
    """One SSE message. The JSON is on one line (it escapes every line break and every
    character beyond ASCII), so one ``data:`` line holds it."""
    return f"id: {event.position}\ndata: {event.to_json().decode()}\n\n"


async def _should_end(request: Request) -> bool:
    """The client went, or the server is stopping (it waits for open answers to end, and a
    stream never ends by itself)."""
    return request.app.state.stopping.is_set() or await request.is_disconnected()
