"""Support agents and how a new case finds one.

An agent has skills (``billing``, ``de``, ``api``: whatever the team names) and a capacity:
the open cases they can hold. A case that needs a skill goes to the least loaded agent who
has it and has room; agents equally loaded take turns. A case that needs no skill, or whose
skill nobody with room has, falls back to plain round-robin over every agent with room, so
that no case waits unseen. A person assigning a case by hand cannot give it to an agent who
lacks its skill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware
from domain.meta import Meta
from domain.text import clean


class AgentLacksSkill(RuleViolation):
    code = "agent_lacks_skill"


def agent_id(handle: str) -> UUID:
    """An agent's id follows from the handle cases are assigned to, so a case's handler
    finds its agent without a lookup."""
    return uuid5(NAMESPACE_URL, f"urn:eventcrm:agent:{handle}")


class Agent(Aggregate):
    """Named by the same handle cases are assigned to (``Case.assign(agent=…)``). The agent
    counts the open cases they hold, in the same transaction as each assignment, so two
    cases routed at once never both take an agent's last free place."""

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

    class CaseTaken(Aggregate.Event):
        TOPIC = "crm.agent.case_taken.v1"
        case_id: UUID
        load: int
        at: datetime
        meta: Meta

    class CaseReleased(Aggregate.Event):
        TOPIC = "crm.agent.case_released.v1"
        case_id: UUID
        load: int
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

    def take(self, case_id: UUID, at: datetime, meta: Meta) -> None:
        """A case already held records nothing. Capacity binds routing, not a person
        assigning by hand."""
        if case_id not in self.open_cases:
            self._case_taken(case_id=case_id, load=len(self.open_cases) + 1, at=require_aware(at), meta=meta)

    def release(self, case_id: UUID, at: datetime, meta: Meta) -> None:
        """The case was resolved, closed or given to someone else; one not held records nothing."""
        if case_id in self.open_cases:
            self._case_released(case_id=case_id, load=len(self.open_cases) - 1, at=require_aware(at), meta=meta)

    @property
    def seat(self) -> Seat:
        return Seat(self.handle, frozenset(self.skills), self.capacity, len(self.open_cases))

    @staticmethod
    def create_id(handle: str) -> UUID:
        return agent_id(handle)

    @event(Registered)
    def __init__(self, handle: str, skills: list[str], capacity: int, at: datetime, meta: Meta) -> None:
        self.handle = handle
        self.skills = skills
        self.capacity = capacity
        self.open_cases: list[UUID] = []
        self.last_taken_at: datetime | None = None

    @event(SkillsChanged)
    def _skills_changed(self, skills: list[str], capacity: int, at: datetime, meta: Meta) -> None:
        self.skills = skills
        self.capacity = capacity

    @event(CaseTaken)
    def _case_taken(self, case_id: UUID, load: int, at: datetime, meta: Meta) -> None:
        self.open_cases = [*self.open_cases, case_id]
        self.last_taken_at = at

    @event(CaseReleased)
    def _case_released(self, case_id: UUID, load: int, at: datetime, meta: Meta) -> None:
        self.open_cases = [c for c in self.open_cases if c != case_id]


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


def last_given(agents: Sequence[Agent]) -> str | None:
    """The agent who took a case most recently: the turn passes on from them."""
    taken = [agent for agent in agents if agent.last_taken_at is not None]
    return max(taken, key=lambda agent: (agent.last_taken_at, agent.handle)).handle if taken else None


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
