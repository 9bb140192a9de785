"""Commands that automations issue. Each decides from the aggregate's current state
whether there is still something to do, so a late or repeated trigger changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.activity import Activity
from domain.contact import LIFECYCLE_STAGES, Contact
from domain.deal import Deal
from domain.meta import Meta

_BEFORE_MQL = frozenset(LIFECYCLE_STAGES[: LIFECYCLE_STAGES.index("marketing_qualified")])


#: Who owns the follow-up task of a contact without an owner: the team's shared queue.
TEAM_QUEUE = "team"


@dataclass(frozen=True)
class QualifyMarketingLead:
    """The contact's score crossed the threshold: it becomes marketing-qualified and its
    owner gets a follow-up task (an activity on the contact), in one save."""

    contact_id: UUID
    lead_score: int
    follow_up_in: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class MakeDealContactCustomer:
    deal_id: UUID


def qualify(command: QualifyMarketingLead, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = uow.load(Contact, command.contact_id)
    if contact.lifecycle_stage in _BEFORE_MQL and not contact.erased and contact.merged_into is None:
        contact.change_lifecycle_stage(
            "marketing_qualified", uow.now, meta, reason=f"lead score reached {command.lead_score}"
        )
        task = Activity.schedule(
            kind="task",
            subject=f"Follow up: marketing-qualified with a lead score of {command.lead_score}",
            regarding_type="contact",
            regarding_id=contact.id,
            owner=contact.owner or TEAM_QUEUE,
            due_at=uow.now + command.follow_up_in,
            at=uow.now,
            meta=meta,
        )
        return uow.save(contact, task, lifecycle_stage=contact.lifecycle_stage, follow_up=str(task.id))
    return uow.save(contact, lifecycle_stage=contact.lifecycle_stage)


def make_customer(command: MakeDealContactCustomer, meta: Meta, uow: UnitOfWork) -> CommandResult:
    deal = uow.load(Deal, command.deal_id)
    if deal.contact_id is None:
        return uow.save(deal)  # an account's deal: no one person becomes the customer
    contact = uow.load(Contact, deal.contact_id)
    if (
        deal.status == "won"
        and contact.lifecycle_stage not in ("customer", "evangelist")
        and not contact.erased
        and contact.merged_into is None
    ):
        contact.change_lifecycle_stage("customer", uow.now, meta, reason=f"won deal {deal.id}")
    return uow.save(contact, lifecycle_stage=contact.lifecycle_stage)


HANDLERS: dict[type, Handler] = {
    QualifyMarketingLead: qualify,
    MakeDealContactCustomer: make_customer,
}
