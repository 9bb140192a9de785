"""Support agent routes: skills and capacity, which routing follows, and each agent's load."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ServicesDep
from api.problems import Problem
from api.reads import Page, PagingDep
from api.schemas import CommandAccepted
from commands.routing import RegisterAgent

router = APIRouter(prefix="/v1/agents", tags=["agents"])

Handle = Annotated[str, Path(min_length=1, max_length=200, description="the name cases are assigned to")]
Skill = Annotated[str, Field(min_length=1, max_length=100)]


class AgentRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skills: list[Skill] = Field(default_factory=list, max_length=100, description="e.g. billing, de, api")
    capacity: int = Field(20, ge=0, le=1000, description="the open cases the agent can hold")


class AgentAnswer(CommandAccepted):
    handle: str
    skills: list[str]
    capacity: int
    load: int


class AgentPublic(BaseModel):
    id: UUID
    handle: str
    skills: list[str]
    capacity: int
    load: int = Field(description="the open cases the agent holds")
    free: int = Field(description="capacity less load, never below zero")
    has_room: bool
    last_taken_at: datetime | None
    registered_at: datetime
    updated_at: datetime
    version: int


@router.put("/{handle}", response_model=AgentAnswer, dependencies=[permit("agents:write")])
def register(handle: Handle, body: AgentRegister, run: Run) -> dict[str, object]:
    """Registers the agent, or sets the skills and capacity of one registered before."""
    return run(RegisterAgent(handle, list(body.skills), body.capacity))


@router.get("", response_model=Page[AgentPublic], dependencies=[permit("agents:read")])
def search_agents(
    services: ServicesDep,
    paging: PagingDep,
    skill: Annotated[str | None, Query(max_length=100)] = None,
    has_room: bool | None = None,
) -> dict[str, object]:
    """Agents by handle, with their load."""
    return paging.answer(services.agent_queries.agents(skill, has_room, paging.limit, paging.offset))


@router.get("/{handle}", response_model=AgentPublic, dependencies=[permit("agents:read")])
def get_agent(handle: Handle, services: ServicesDep, response: Response) -> dict[str, object]:
    agent = services.agent_queries.by_handle(handle.strip())
    if agent is None:
        raise Problem(404, "not_found", f"no agent {handle!r} in the read model")
    response.headers["ETag"] = f'"{agent["version"]}"'
    return agent
