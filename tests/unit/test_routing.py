"""Case routing by skill: least loaded skilled agent with room, turns among equals,
round-robin as the fallback, never an agent without the skill."""

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidValue
from domain.meta import Meta
from domain.routing import Agent, AgentLacksSkill, Seat, choose_agent, require_skill

META = Meta(actor="lead.support", correlation_id="c-1", causation_id="cmd-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def seat(handle: str, skills: str, capacity: int, load: int) -> Seat:
    return Seat(handle, frozenset(skills.split()), capacity, load)


TEAM = [
    seat("ana", "billing de", 5, 3),
    seat("ben", "billing", 5, 1),
    seat("cam", "api", 2, 2),  # full
    seat("dee", "billing api", 5, 1),
]


def test_the_least_loaded_agent_with_the_skill_and_room_gets_the_case():
    assert choose_agent(TEAM, "de") == "ana"
    assert choose_agent(TEAM, "api") == "dee"  # cam has the skill but no room
    assert choose_agent(TEAM, "billing") == "ben"


def test_equally_loaded_agents_take_turns():
    assert choose_agent(TEAM, "billing", last="ben") == "dee"
    assert choose_agent(TEAM, "billing", last="dee") == "ben"


def test_round_robin_is_the_fallback_without_a_skill_or_a_skilled_agent_with_room():
    assert choose_agent(TEAM, None, last="ana") == "ben"
    assert choose_agent(TEAM, None, last="ben") == "dee"  # cam is full
    assert choose_agent(TEAM, "fr", last="dee") == "ana"
    assert choose_agent([seat("cam", "api", 2, 2)], "api") is None


def test_an_agent_without_the_skill_is_refused():
    with pytest.raises(AgentLacksSkill):
        require_skill(TEAM[1], "de")
    require_skill(TEAM[0], "de")
    require_skill(TEAM[1], None)


def test_an_agent_registers_with_normalised_skills_and_a_bounded_capacity():
    agent = Agent.register(handle="ana", skills=[" Billing", "de", "billing"], capacity=5, at=T0, meta=META)
    assert agent.skills == ["billing", "de"]
    agent.collect_events()
    agent.change(skills=["de", "billing"], capacity=5, at=T0, meta=META)
    assert agent.collect_events() == []
    for bad in ({"skills": "billing", "capacity": 1}, {"skills": [], "capacity": -1}, {"skills": [""], "capacity": 1}):
        with pytest.raises(InvalidValue):
            Agent.register(handle="ben", at=T0, meta=META, **bad)
