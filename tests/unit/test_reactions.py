"""Which events set off which commands: pure decisions, no I/O."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from automations.reactions import Reactions
from commands.automation import MakeDealContactCustomer, QualifyMarketingLead
from commands.case import EscalateCase
from commands.routing import RouteNewCase
from streams.envelope import Envelope


def envelope(event_type: str, data: dict, subject=None) -> Envelope:
    return Envelope(
        id=str(uuid4()),
        source=f"/eventcrm/{event_type.split('.')[1]}",
        type=event_type,
        subject=str(subject or uuid4()),
        time=datetime.now(UTC),
        data=data,
        sequence=3,
        position=9,
        actor="ana",
        correlationid="corr",
        causationid="cause",
    )


def test_crossing_the_threshold_qualifies_once_not_when_already_above():
    react = Reactions(mql_threshold=100, agents=[])
    crossing = envelope("crm.contact.interaction_recorded.v1", {"lead_score": 110, "points": 20})
    [reaction] = react(crossing)
    assert reaction.command == QualifyMarketingLead(UUID(crossing.subject), 110)
    assert reaction.idempotency_key(crossing) == f"automation:qualify_on_score:{crossing.id}"
    assert react(envelope("crm.contact.interaction_recorded.v1", {"lead_score": 130, "points": 20})) == []
    assert react(envelope("crm.contact.interaction_recorded.v1", {"lead_score": 90, "points": 40})) == []
    # Negative points can bring a contact back below and across again.
    assert len(react(envelope("crm.contact.interaction_recorded.v1", {"lead_score": 100, "points": 10}))) == 1


def test_new_cases_are_routed_to_the_team_and_without_agents_nobody_is_assigned():
    react = Reactions(mql_threshold=100, agents=["sam", "kim"])
    opened = envelope("crm.case.opened.v1", {})
    [reaction] = react(opened)
    assert reaction.command == RouteNewCase(UUID(opened.subject), ("sam", "kim"))
    assert reaction.idempotency_key(opened) == f"automation:route_by_skill:{opened.id}"
    assert Reactions(100, agents=[])(envelope("crm.case.opened.v1", {})) == []


def test_won_deals_and_breaches_set_off_their_commands():
    react = Reactions(mql_threshold=100, agents=[])
    [won] = react(envelope("crm.deal.won.v1", {"amount": "10"}))
    assert isinstance(won.command, MakeDealContactCustomer)
    [escalation] = react(
        envelope("crm.case.sla_breached.v1", {"kind": "first_response", "due": "2026-01-01T10:00:00Z"})
    )
    assert isinstance(escalation.command, EscalateCase)
    assert "first response" in escalation.command.reason
    assert react(envelope("crm.deal.lost.v1", {"reason": "price"})) == []
