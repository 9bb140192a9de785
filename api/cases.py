"""Support-case routes: the case's life from open to closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, ServicesDep
from api.problems import Problem
from api.reads import CasePublic, Page, PagingDep
from api.schemas import CommandAccepted
from api.trail import Trail, contact_ids
from commands.case import (
    AssignCase,
    ChangeCasePriority,
    CloseCase,
    EscalateCase,
    MarkCasePending,
    OpenCase,
    RecordCustomerReply,
    ReopenCase,
    ResolveCase,
    RespondToCase,
    SetCaseSkill,
)

router = APIRouter(prefix="/v1/cases", tags=["cases"])

Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["email", "phone", "chat", "web", "social", "other"]
Status = Literal["new", "open", "pending", "resolved", "closed"]
Skill = Annotated[str, Field(min_length=1, max_length=100, description="what an agent needs for it, e.g. billing")]


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID
    subject: str = Field(min_length=1, max_length=300)
    priority: Priority = "normal"
    channel: Channel = "email"
    skill: Skill | None = None


class CaseAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(min_length=1, max_length=200)


class CaseRespond(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str | None = Field(None, max_length=200, description="default: the assigned agent")


class CaseResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str | None = Field(None, max_length=2000)


class CasePriority(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: Priority
    reason: str | None = Field(None, max_length=500)


class CaseEscalate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class CaseSkill(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill: Skill | None = Field(description="null: the case needs no particular skill")


class CaseAccepted(CommandAccepted):
    status: str | None = None
    priority: str | None = None
    skill: str | None = None
    duplicate_of: UUID | None = Field(
        None, description="the earlier case this one repeats: it was linked to it and closed at once"
    )
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None


class CaseRead(CasePublic):
    skill: str | None = Field(None, description="the skill an agent needs for the case")
    duplicate_of: UUID | None = Field(None, description="the earlier case this one repeats, when linked")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseAccepted, dependencies=[permit("cases:write")])
def open_case(
    body: CaseCreate,
    run: Run,
) -> dict[str, object]:
    """A case the same person opens about the same subject within the duplicate window is
    linked to the earlier one and closed at once (``duplicate_of``)."""
    command = OpenCase(body.contact_id, body.subject, body.priority, body.channel, skill=body.skill)
    return run.created(command, "/v1/cases")


@router.post("/{case_id}/assign", response_model=CaseAccepted, dependencies=[permit("cases:write")])
def assign(
    case_id: UUID,
    body: CaseAssign,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    return run(AssignCase(case_id, body.agent, version))


@router.post("/{case_id}/respond", response_model=CaseAccepted, dependencies=[permit("cases:write")])
def respond(
    case_id: UUID,
    body: CaseRespond,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    """An agent's response to the customer; the first one stops the first-response clock."""
    return run(RespondToCase(case_id, body.agent, version))


@router.post("/{case_id}/resolve", response_model=CaseAccepted, dependencies=[permit("cases:write")])
def resolve(
    case_id: UUID,
    body: CaseResolve,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    return run(ResolveCase(case_id, body.resolution, version))


@router.put("/{case_id}/skill", response_model=CaseAccepted, dependencies=[permit("cases:write")])
def set_skill(
    case_id: UUID,
    body: CaseSkill,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    """The skill the case needs; assigning it to an agent without it is refused
    (``agent_lacks_skill``)."""
    return run(SetCaseSkill(case_id, body.skill, version))


@router.post("/{case_id}/priority", response_model=CaseAccepted, dependencies=[permit("cases:write")])
def change_priority(
    case_id: UUID,
    body: CasePriority,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    return run(ChangeCasePriority(case_id, body.priority, body.reason, version))


@router.post("/{case_id}/escalate", response_model=CaseAccepted, dependencies=[permit("cases:write")])
def escalate(
    case_id: UUID,
    body: CaseEscalate,
    run: Run,
) -> dict[str, object]:
    return run(EscalateCase(case_id, body.reason))


@router.get("", response_model=Page[CaseRead], dependencies=[permit("cases:read")])
def case_queue(
    services: ServicesDep,
    paging: PagingDep,
    trail: Trail,
    status: Status | None = None,
    priority: Priority | None = None,
    agent: Annotated[str | None, Query(max_length=200)] = None,
    breached: bool | None = None,
    contact_id: UUID | None = None,
    skill: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, object]:
    """The queue: open cases with a breached deadline first, then open cases by their
    next deadline (first response until given, then resolution), then resolved and
    closed ones. ``breached``: a deadline of either kind was breached (or none was)."""
    page = services.case_queries.search(
        status=status,
        priority=priority,
        agent=agent,
        breached=breached,
        contact_id=str(contact_id) if contact_id else None,
        skill=skill.strip().lower() if skill else None,
        limit=paging.limit,
        offset=paging.offset,
    )
    trail.record_all(contact_ids(page.items, "contact_id"))
    return paging.answer(page)


@router.get("/{case_id}", response_model=CaseRead, dependencies=[permit("cases:read")])
def get_case(case_id: UUID, services: ServicesDep, response: Response, trail: Trail) -> dict[str, object]:
    case = services.case_queries.get(str(case_id))
    if case is None:
        raise Problem(404, "not_found", f"no case {case_id} in the read model")
    trail.record(case["contact_id"])
    response.headers["ETag"] = f'"{case["version"]}"'
    return case


def _transition(path: str, command: Callable[[UUID, int | None], object], doc: str) -> None:
    """The bodiless moves of a case's life: pending, customer-reply, reopen, close."""

    def route(
        case_id: UUID,
        version: ExpectedVersion,
        run: Run,
    ) -> dict[str, object]:
        return run(command(case_id, version))

    route.__doc__ = doc
    router.add_api_route(
        f"/{{case_id}}/{path}",
        route,
        methods=["POST"],
        response_model=CaseAccepted,
        name=path.replace("-", "_"),
        dependencies=[permit("cases:write")],
    )


_transition("pending", MarkCasePending, "Waiting on the customer.")
_transition("customer-reply", RecordCustomerReply, "The customer answered a pending case.")
_transition("reopen", ReopenCase, "Reopen a resolved case within the reopen window; a closed one never.")
_transition("close", CloseCase, "Close a resolved case; closed is final.")
