"""What each automation does in answer to an event. Pure: an envelope in, the commands to
issue out; the runner executes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands.automation import MakeDealContactCustomer, QualifyMarketingLead
from commands.case import EscalateCase
from commands.routing import RouteNewCase
from streams.envelope import Envelope


@dataclass(frozen=True)
class Reaction:
    automation: str
    command: object

    def idempotency_key(self, trigger: Envelope) -> str:
        return f"automation:{self.automation}:{trigger.id}"


class Reactions:
    def __init__(self, mql_threshold: int, agents: Sequence[str]) -> None:
        self.mql_threshold = mql_threshold
        self.agents = tuple(agents)

    def __call__(self, envelope: Envelope) -> list[Reaction]:
        subject = UUID(envelope.subject)
        react = TRIGGERS.get(envelope.type)
        return react(self, subject, envelope.data) if react is not None else []

    def _interaction_recorded(self, subject: UUID, data: dict[str, Any]) -> list[Reaction]:
        score, points = data["lead_score"], data["points"]
        if score >= self.mql_threshold > score - points:
            return [Reaction("qualify_on_score", QualifyMarketingLead(subject, score))]
        return []

    def _absorbed(self, subject: UUID, data: dict[str, Any]) -> list[Reaction]:
        if data["lead_score"] >= self.mql_threshold:
            return [Reaction("qualify_on_score", QualifyMarketingLead(subject, data["lead_score"]))]
        return []

    def _case_opened(self, subject: UUID, data: dict[str, Any]) -> list[Reaction]:
        # A duplicate is closed as it opens: routing finds nothing to do for it.
        if not self.agents:
            return []
        return [Reaction("route_by_skill", RouteNewCase(subject, self.agents))]

    def _deal_won(self, subject: UUID, data: dict[str, Any]) -> list[Reaction]:
        return [Reaction("won_deal_makes_customer", MakeDealContactCustomer(subject))]

    def _sla_breached(self, subject: UUID, data: dict[str, Any]) -> list[Reaction]:
        reason = f"SLA breach: {data['kind'].replace('_', ' ')} was due {data['due']}"
        return [Reaction("escalate_on_breach", EscalateCase(subject, reason))]


#: The registered event types an automation answers, and how; every other event type
#: (most of them) sets off nothing.
TRIGGERS: dict[str, Callable[[Reactions, UUID, dict[str, Any]], list[Reaction]]] = {
    "crm.contact.interaction_recorded.v1": Reactions._interaction_recorded,
    "crm.contact.absorbed.v1": Reactions._absorbed,
    "crm.case.opened.v1": Reactions._case_opened,
    "crm.deal.won.v1": Reactions._deal_won,
    "crm.case.sla_breached.v1": Reactions._sla_breached,
}
