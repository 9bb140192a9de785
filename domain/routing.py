"""Support agents and how a new case finds one.

An agent has skills (``billing``, ``de``, ``api``: whatever the team names) and a capacity:
the open cases they can hold. A case that needs a skill goes to the least loaded agent who
has it and has room; agents equally loaded take turns. A case that needs no skill, or whose
skill nobody with room has, falls back to plain round-robin over every agent with room. An
agent is never given a case whose skill they lack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware
from domain.meta import Meta
from domain.text import clean


class AgentLacksSkill(RuleViolation):
    code = "agent_lacks_skill"


class Agent(Aggregate):
    """Named by the same handle cases are assigned to (``Case.assign(agent=…)``)."""

    TOPIC = "crm.agent"

    class Created(Aggregate.Created):
        """Never recorded itself (agents are created by ``Registered``); eventsourcing needs a
        topic on it. No version: it names no event type (see ``Case.Created``)."""

        TOPIC = "crm.agent.created"

    class Registered(Created):
        TOPIC = "crm.agent.registered.v1"
        handle: str
        skills: list[str]
        capacity: int
        at: datetime
        meta: Meta

    class SkillsChanged(Aggregate.Event):
        TOPIC = "crm.agent.skills_changed.v1"
        skills: list[str]
        capacity: int
        at: datetime
        meta: Meta

    @classmethod
    def register(cls, *, handle: str, skills: Sequence[str], capacity: int, at: datetime, meta: Meta) -> Agent:
        name = clean(handle)
        if name is None:
            raise InvalidValue("an agent needs a handle")
        return cls(
            handle=name,
            skills=_require_skills(skills),
            capacity=_require_capacity(capacity),
            at=require_aware(at),
            meta=meta,
        )

    def change(self, *, skills: Sequence[str], capacity: int, at: datetime, meta: Meta) -> None:
        new = (_require_skills(skills), _require_capacity(capacity))
        if new != (self.skills, self.capacity):
            self._skills_changed(skills=new[0], capacity=new[1], at=require_aware(at), meta=meta)

    @event(Registered)
    def __init__(self, handle: str, skills: list[str], capacity: int, at: datetime, meta: Meta) -> None:
        self.handle = handle
        self.skills = skills
        self.capacity = capacity

    @event(SkillsChanged)
    def _skills_changed(self, skills: list[str], capacity: int, at: datetime, meta: Meta) -> None:
        self.skills = skills
        self.capacity = capacity


@dataclass(frozen=True)
class Seat:
    """An agent as routing sees them: skills, capacity and the open cases they hold now."""

    handle: str
    skills: frozenset[str]
    capacity: int
    load: int

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


def choose_agent(seats: Sequence[Seat], skill: str | None, last: str | None = None) -> str | None:
    """The agent a new case goes to, or ``None`` when nobody has room. ``last`` is the agent
    given the previous case: among equals, the turn passes to the next handle after it."""
    open_seats = [seat for seat in seats if seat.has_room]
    skilled = [seat for seat in open_seats if skill is not None and skill in seat.skills]
    if skilled:
        least = min(seat.load for seat in skilled)
        return _next_after([seat.handle for seat in skilled if seat.load == least], last)
    return _next_after([seat.handle for seat in open_seats], last)


def require_skill(seat: Seat, skill: str | None) -> None:
    """An explicit assignment is refused when the agent lacks the case's skill."""
    if skill is not None and skill not in seat.skills:
        raise AgentLacksSkill(f"agent {seat.handle} lacks the skill {skill!r} the case needs")


def _next_after(handles: list[str], last: str | None) -> str | None:
    if not handles:
        return None
    ordered = sorted(handles)
    after = [handle for handle in ordered if last is not None and handle > last]
    return after[0] if after else ordered[0]


def _require_skills(skills: Sequence[str]) -> list[str]:
    if isinstance(skills, str) or not all(isinstance(s, str) and s.strip() for s in skills):
        raise InvalidValue("skills are a list of names")
    return sorted({s.strip().lower() for s in skills})


def _require_capacity(capacity: int) -> int:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= 1000:
        raise InvalidValue(f"capacity {capacity!r} must be a whole number of cases from 0 to 1000")
    return capacity
