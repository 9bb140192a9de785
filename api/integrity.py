"""The integrity check of the event store, for auditors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.access import permit
from api.deps import ServicesDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class FindingOut(BaseModel):
    kind: str
    position: int
    aggregate: str
    version: int | None
    detail: str


class VerdictOut(BaseModel):
    clean: bool
    checked: int
    aggregates: int
    findings: list[FindingOut]
    notes: list[FindingOut] = Field(
        default_factory=list, description="events absent from Kafka on purpose: the relay dead-lettered them"
    )


@router.get("/verify", response_model=VerdictOut, dependencies=[permit("audit:read")])
def verify_store(services: ServicesDep, kafka: bool = Query(False, description="verify the Kafka topics too")) -> Any:
    """Walks the whole event store (and, with ``kafka=true``, every topic) and reports every
    altered, missing or reordered event by position; a clean store reports ``clean``."""
    verdict = services.verify(kafka)
    return {
        "clean": verdict.clean,
        "checked": verdict.checked,
        "aggregates": verdict.aggregates,
        "findings": [vars(f) for f in verdict.findings],
        "notes": [vars(f) for f in verdict.notes],
    }
