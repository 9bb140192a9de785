"""What each automation does in answer to an event. Pure: an envelope in, the commands to
issue out; the runner executes them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from uuid import UUID

from commands.automation import AssignNewCase, MakeDealContactCustomer, QualifyMarketingLead
from commands.case import EscalateCase
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
        # Round-robin over the agents, in the order new cases arrive.
        self._agents: Iterator[str] | None = itertools.cycle(agents) if agents else None

    def __call__(self, envelope: Envelope) -> list[Reaction]:
        subject = UUID(envelope.subject)
        data = envelope.data
        kind = envelope.type
        if kind == "crm.contact.interaction_recorded.v1":
            score, points = data["lead_score"], data["points"]
            if score >= self.mql_threshold > score - points:
                return [Reaction("qualify_on_score", QualifyMarketingLead(subject, score))]
        elif kind == "crm.contact.absorbed.v1":
            if data["lead_score"] >= self.mql_threshold:
                return [Reaction("qualify_on_score", QualifyMarketingLead(subject, data["lead_score"]))]
        elif kind == "crm.case.opened.v1" and self._agents is not None:
            return [Reaction("assign_round_robin", AssignNewCase(subject, next(self._agents)))]
        elif kind == "crm.deal.won.v1":
            return [Reaction("won_deal_makes_customer", MakeDealContactCustomer(subject))]
        elif kind == "crm.case.sla_breached.v1":
            reason = f"SLA breach: {data['kind'].replace('_', ' ')} was due {data['due']}"
            return [Reaction("escalate_on_breach", EscalateCase(subject, reason))]
        return []
