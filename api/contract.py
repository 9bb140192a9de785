"""The subscriber contract as a document: ``GET /asyncapi.json``, the AsyncAPI 3.0.0
description of what eventcrm sends on Kafka, to webhooks and on the live stream
(streams/asyncapi.py). Public, like ``/openapi.json``: it holds no data, only the shape of
the events, and a service reads it before it has a key."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Response

from api.deps import ServicesDep
from streams import asyncapi
from streams.topics import DEFAULT_PREFIX

router = APIRouter(tags=["contract"])


@lru_cache(maxsize=8)
def _rendered(prefix: str) -> bytes:
    return asyncapi.render(prefix).encode()


def topic_prefix(services: object) -> str:
    """The Kafka topic prefix the deployment's settings name (``CRM_KAFKA_TOPIC_PREFIX``),
    when the services carry settings (the composition root's do); the default otherwise."""
    prefix = getattr(getattr(services, "settings", None), "kafka_topic_prefix", None)
    return prefix if isinstance(prefix, str) and prefix else DEFAULT_PREFIX


@router.get(
    "/asyncapi.json",
    summary="The event contract (AsyncAPI 3.0.0)",
    response_class=Response,
    responses={200: {"description": "the AsyncAPI document", "content": {"application/json": {}}}},
)
def asyncapi_document(services: ServicesDep) -> Response:
    """How subscribers receive eventcrm's CloudEvents: the Kafka topics, webhooks and the
    Server-Sent Events stream, one message per event type with its schema. No key needed."""
    return Response(_rendered(topic_prefix(services)), media_type="application/json")
