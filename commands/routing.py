"""Support agents and case routing: agents register their skills and capacity; a new case
goes to the least loaded agent with its skill, and every assignment, resolution and
closing moves the agents' loads in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.errors import NotFound
from commands.results import CommandResult
from domain.case import Case
from domain.meta import Meta
from domain.routing import Agent, Seat, agent_id, choose_agent, last_given, require_skill


@dataclass(frozen=True)
class RegisterAgent:
    """Registers the agent, or changes the skills and capacity of one registered before."""

    handle: str
    skills: list[str] = field(default_factory=list, hash=False)
    capacity: int = 20


@dataclass(frozen=True)
class RouteNewCase:
    """Gives the case to one of ``agents`` (the support team) unless someone has it."""

    case_id: UUID
    agents: Sequence[str] = field(default=(), hash=False)


def find_agent(uow: UnitOfWork, handle: str | None) -> Agent | None:
    if handle is None:
        return None
    try:
        return uow.load(Agent, agent_id(handle))
    except NotFound:
        return None


def require_agent_skill(agent: Agent | None, handle: str, skill: str | None) -> None:
    """A case that needs a skill goes by hand only to a registered agent who has it."""
    require_skill(agent.seat if agent is not None else Seat(handle, frozenset(), 0, 0), skill)


def move_load(uow: UnitOfWork, case: Case, before: str | None, at: datetime, meta: Meta) -> list[Agent]:
    """The agents whose load changes now that ``case`` is with ``case.agent`` (and open, or
    not): the one it left releases it, the one holding an open case takes it."""
    changed = []
    holder = case.agent if case.status not in ("resolved", "closed") else None
    if before is not None and before != holder:
        left = find_agent(uow, before)
        if left is not None:
            left.release(case.id, at, meta)
            changed.append(left)
    if holder is not None:
        taker = find_agent(uow, holder)
        if taker is not None:
            taker.take(case.id, at, meta)
            changed.append(taker)
    return changed


def register(command: RegisterAgent, meta: Meta, uow: UnitOfWork) -> CommandResult:
    agent = find_agent(uow, command.handle.strip() if isinstance(command.handle, str) else None)
    if agent is None:
        agent = Agent.register(
            handle=command.handle, skills=command.skills, capacity=command.capacity, at=uow.now, meta=meta
        )
    else:
        agent.change(skills=command.skills, capacity=command.capacity, at=uow.now, meta=meta)
    return uow.save(agent, handle=agent.handle, skills=agent.skills, capacity=agent.capacity, load=agent.seat.load)


def route_new_case(command: RouteNewCase, meta: Meta, uow: UnitOfWork) -> CommandResult:
    """Agents of the team not registered yet join with no skills and the default capacity,
    so that their load is counted from their first case."""
    case = uow.load(Case, command.case_id)
    if case.agent is not None or case.is_closed or not command.agents:
        return uow.save(case, agent=case.agent)
    team = []
    for handle in dict.fromkeys(command.agents):
        agent = find_agent(uow, handle) or Agent.register(
            handle=handle, skills=[], capacity=uow.config.agent_capacity, at=uow.now, meta=meta
        )
        team.append(agent)
    chosen = choose_agent([agent.seat for agent in team], case.skill, last_given(team))
    if chosen is None:
        return uow.save(case, agent=None)  # everyone is full: the case waits in the queue
    agent = next(agent for agent in team if agent.handle == chosen)
    case.assign(chosen, uow.now, meta)
    agent.take(case.id, uow.now, meta)
    # Only the chosen agent is saved: the others of the team join when a case first goes to them.
    return uow.save(case, agent, agent=chosen, load=agent.seat.load)


HANDLERS: dict[type, Handler] = {
    RegisterAgent: register,
    RouteNewCase: route_new_case,
}
