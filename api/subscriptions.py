"""Webhook subscriptions: services say where to be called and for which events, see what
was delivered, and ask for events again. The contract of the requests they receive is in
docs/SUBSCRIBING.md and ``/asyncapi.json``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.access import permit
from api.deps import ServicesDep, authenticated_actor
from api.problems import Problem
from commands.limits import UnstorableText, check_text
from streams.feed import UnknownTypes
from webhooks.subscriptions import DEFAULT_OVERLAP, MAX_SUBJECTS, SubscriptionError

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], dependencies=[permit("subscriptions:manage")])

T = TypeVar("T")
Types = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(max_length=100, description="CloudEvents type patterns (`crm.deal.*`); none = every type"),
]
Subjects = Annotated[
    list[Annotated[str, Field(max_length=100)]],
    Field(max_length=MAX_SUBJECTS, description="aggregate ids; none = every subject"),
]


def _storable(value: str | None) -> str | None:
    if value is not None:
        try:
            check_text(value, "the text")
        except UnstorableText as exc:
            raise ValueError(str(exc)) from None
    return value


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(min_length=1, max_length=2000, description="where eventcrm POSTs each event (http or https)")
    types: Types = Field(default_factory=list)
    subjects: Subjects = Field(default_factory=list)
    start: Literal["now", "earliest"] | Annotated[int, Field(ge=1, le=2**62)] = Field(
        "now",
        alias="from",
        description="`now` (events recorded from now on), `earliest` (every event ever), or a position "
        "(events from that position on)",
    )
    description: str = Field("", max_length=500)

    _text = field_validator("url", "description")(_storable)


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, min_length=1, max_length=2000)
    types: Types | None = None
    subjects: Subjects | None = None
    description: str | None = Field(None, max_length=500)
    status: Literal["active", "paused"] | None = Field(
        None, description="`paused` holds deliveries where they are; `active` resumes (also after being disabled)"
    )

    _text = field_validator("url", "description")(_storable)


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: float = Field(
        DEFAULT_OVERLAP, ge=0, le=7 * 86400, description="how long the old secret still signs as well"
    )


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: int | None = Field(None, alias="from", ge=1, le=2**62, description="send again every event from here on")
    dead_letters: bool = Field(False, description="send again the deliveries that were given up")


def _answer(call: Callable[[], T]) -> T:
    """Runs ``call``, answering its refusals as problems."""
    try:
        return call()
    except SubscriptionError as exc:
        raise Problem(exc.status, exc.code, str(exc)) from None
    except UnknownTypes as exc:
        raise Problem(422, "unknown_event_type", str(exc)) from None


@router.post("", status_code=status.HTTP_201_CREATED)
def create_subscription(
    body: SubscriptionIn, services: ServicesDep, actor: Annotated[str, Depends(authenticated_actor)]
) -> Any:
    """Subscribes ``url`` to the events it names. The answer holds the signing secret: it
    is shown this once (``rotate-secret`` makes a new one)."""
    start = 0 if body.start == "earliest" else services.feed.head() if body.start == "now" else int(body.start) - 1
    created, secret = _answer(
        lambda: services.subscriptions.create(body.url, body.types, body.subjects, start, actor, body.description)
    )
    return {**created.as_dict(), "secret": secret}


@router.get("")
def list_subscriptions(services: ServicesDep) -> Any:
    """Every subscription (never its secret)."""
    return {"subscriptions": [s.as_dict() for s in services.subscriptions.all()]}


@router.get("/{subscription_id}")
def get_subscription(subscription_id: str, services: ServicesDep) -> Any:
    """One subscription, with how many of its deliveries are pending, delivered and dead."""
    found = _answer(lambda: services.subscriptions.get(subscription_id))
    return {**found.as_dict(), "deliveries": services.deliveries.counts(subscription_id)}


@router.patch("/{subscription_id}")
def change_subscription(subscription_id: str, body: SubscriptionChange, services: ServicesDep) -> Any:
    """Pauses, resumes (a disabled one too), or changes the URL or the filter; a new
    filter applies to events not yet handed to this subscription."""
    changed = _answer(lambda: services.subscriptions.update(subscription_id, **body.model_dump(exclude_none=True)))
    return changed.as_dict()


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(subscription_id: str, services: ServicesDep) -> Response:
    """Ends the subscription: its secret and delivery log are deleted; nothing more is sent."""
    _answer(lambda: services.subscriptions.delete(subscription_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{subscription_id}/rotate-secret")
def rotate_secret(subscription_id: str, services: ServicesDep, body: Rotation | None = None) -> Any:
    """A new signing secret, shown this once. For ``overlap_seconds`` (a day by default)
    every request is signed with both, so receivers can switch without missing a beat."""
    overlap = (body or Rotation()).overlap_seconds
    rotated, secret = _answer(lambda: services.subscriptions.rotate(subscription_id, overlap))
    return {**rotated.as_dict(), "secret": secret}


@router.get("/{subscription_id}/deliveries")
def list_deliveries(
    subscription_id: str,
    services: ServicesDep,
    delivery_status: Annotated[
        Literal["pending", "failing", "delivered", "dead"] | None,
        Query(alias="status", description="pending (waiting or retrying), failing (retrying), delivered, dead"),
    ] = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="list deliveries after this position")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The delivery log in position order: each delivery's attempts (time, status code,
    latency, error) and when the next one is due; ``next`` continues the list."""
    found = _answer(lambda: services.deliveries.log(subscription_id, delivery_status, after, limit))
    return {"deliveries": found, "next": found[-1]["position"] if found else after}


@router.post("/{subscription_id}/replay", status_code=status.HTTP_202_ACCEPTED)
def replay(subscription_id: str, body: Replay, services: ServicesDep) -> Any:
    """Sends events again: every one from position ``from`` on, or the given-up ones
    (``dead_letters``). They go out in order per subject, with the ``webhook-id`` they had."""
    if (body.start is None) == (not body.dead_letters):
        raise Problem(422, "invalid_replay", "give either 'from' (a position) or 'dead_letters': true")
    if body.dead_letters:
        queued = _answer(lambda: services.deliveries.replay_dead(subscription_id))
    else:
        start = int(body.start or 1)
        queued = _answer(lambda: services.deliveries.replay_from(subscription_id, start))
    return {"queued": queued}
