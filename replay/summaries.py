"""One line, for people, per event: "Interaction email_opened: +10 → lead score 40".

A summary shows structured facts only (stages, scores, amounts, priorities, staff names,
ids), never a personal field nor free text (names, email addresses, subjects, reasons,
interaction details): audit trails are exported and shared, and an erased person's
fields read back as "[erased]" anyway. The full content of an event is in its ``data``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Summary = Callable[[Any], str]


def summarise(event: Any) -> str:
    """The summary of a decoded event; an event type without one gets its own name."""
    topic: str = type(event).TOPIC
    describe = SUMMARIES.get(topic)
    if describe is None:
        return topic.split(".")[2].replace("_", " ").capitalize()
    return describe(event)


def duration(seconds: float) -> str:
    """3.2 days, 5.0 hours, 12 minutes, 40 seconds."""
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


def _changed(changes: dict[str, Any], personal: frozenset[str]) -> str:
    parts = []
    for field, value in changes.items():
        if field in personal:
            parts.append(field)
        elif isinstance(value, list):
            parts.append(f"{field} → {', '.join(map(str, value)) or '(none)'}")
        else:
            parts.append(f"{field} → {'(none)' if value is None else value}")
    return "; ".join(parts)


_CONTACT_PERSONAL = frozenset({"name", "email", "phone"})
_DEAL_FREE_TEXT = frozenset({"title"})
_ACCOUNT_FREE_TEXT = frozenset({"name"})


def _owner(owner: str | None) -> str:
    return owner or "nobody"


def _tags(tags: list[str]) -> str:
    return ", ".join(tags) if tags else "none"


def _money(amount: Any, currency: str) -> str:
    return f"{amount} {currency}"


# -- contact -----------------------------------------------------------------------------


def _contact_created(e: Any) -> str:
    return f"Contact created: stage {e.lifecycle_stage}, owner {_owner(e.owner)}, tags {_tags(e.tags)}"


def _interaction(e: Any) -> str:
    sign = "+" if e.points >= 0 else ""
    return f"Interaction {e.interaction_type}: {sign}{e.points} → lead score {e.lead_score}"


def _lifecycle(e: Any) -> str:
    return f"Lifecycle stage {e.from_stage} → {e.to_stage}"


def _account_linked(e: Any) -> str:
    return f"Linked to account {e.account_id}" if e.account_id else "Unlinked from its account"


def _absorbed(e: Any) -> str:
    return f"Absorbed contact {e.absorbed_id} → lead score {e.lead_score}, tags {_tags(e.tags)}"


# -- deal --------------------------------------------------------------------------------


def _deal_created(e: Any) -> str:
    amount = f", {_money(e.amount, e.currency)}" if e.amount is not None else ""
    return f"Deal created in stage {e.stage} ({e.probability:.0%}){amount}, owner {_owner(e.owner)}"


def _deal_won(e: Any) -> str:
    return (
        f"Deal won from {e.from_stage} after {duration(e.seconds_in_stage)}: "
        f"{_money(e.amount, e.currency)}, closed on {e.closed_on}"
    )


# -- case --------------------------------------------------------------------------------


def _case_responded(e: Any) -> str:
    first = ""
    if e.first_response:
        met = "met" if e.first_response_met else "missed"
        first = f" (first response after {duration(e.seconds_to_first_response or 0)}, deadline {met})"
    return f"Case responded by {e.agent or 'an agent'}: response {e.responses}{first}"


def _case_resolved(e: Any) -> str:
    how = "first contact" if e.first_contact_resolution else f"{e.responses} responses"
    met = "" if e.resolution_met else ", resolution deadline missed"
    return f"Case resolved ({how}) after {duration(e.seconds_to_resolution)}{met}"


SUMMARIES: dict[str, Summary] = {
    "crm.contact.created.v1": _contact_created,
    "crm.contact.details_changed.v1": lambda e: f"Details changed: {_changed(e.changes, _CONTACT_PERSONAL)}",
    "crm.contact.interaction_recorded.v1": _interaction,
    "crm.contact.consent_given.v1": lambda e: f"Marketing consent given (source {e.source})",
    "crm.contact.consent_withdrawn.v1": lambda e: f"Marketing consent withdrawn (source {e.source})",
    "crm.contact.lifecycle_stage_changed.v1": _lifecycle,
    "crm.contact.account_linked.v1": _account_linked,
    "crm.contact.follow_up_assigned.v1": lambda e: f"Follow-up for {_owner(e.owner)}, due {e.due_at:%Y-%m-%d %H:%M}",
    "crm.contact.merged_into.v1": lambda e: f"Merged into contact {e.survivor_id}; read-only from now on",
    "crm.contact.absorbed.v1": _absorbed,
    "crm.contact.erased.v1": lambda e: "Personal data erased",
    "crm.account.created.v1": lambda e: f"Account created, owner {_owner(e.owner)}",
    "crm.account.details_changed.v1": lambda e: f"Account changed: {_changed(e.changes, _ACCOUNT_FREE_TEXT)}",
    "crm.account.contact_added.v1": lambda e: f"Contact {e.contact_id} joined the account ({len(e.contacts)} now)",
    "crm.account.contact_removed.v1": lambda e: f"Contact {e.contact_id} left the account ({len(e.contacts)} now)",
    "crm.pipeline.created.v1": lambda e: f"Pipeline created: {' → '.join(s['key'] for s in e.stages)}",
    "crm.pipeline.stage_added.v1": lambda e: f"Stage {e.key} added at {e.position} ({e.probability:.0%})",
    "crm.pipeline.stage_renamed.v1": lambda e: f"Stage {e.key} renamed",
    "crm.pipeline.stage_probability_changed.v1": lambda e: f"Stage {e.key} probability → {e.probability:.0%}",
    "crm.pipeline.stages_reordered.v1": lambda e: f"Stages reordered: {' → '.join(e.keys)}",
    "crm.deal.created.v1": _deal_created,
    "crm.deal.stage_changed.v1": lambda e: (
        f"Deal moved {e.from_stage} → {e.to_stage} after {duration(e.seconds_in_stage)}"
    ),
    "crm.deal.won.v1": _deal_won,
    "crm.deal.lost.v1": lambda e: f"Deal lost from {e.from_stage} after {duration(e.seconds_in_stage)}",
    "crm.deal.reopened.v1": lambda e: f"Deal reopened ({e.previous_status}) into {e.to_stage}",
    "crm.deal.details_changed.v1": lambda e: f"Deal changed: {_changed(e.changes, _DEAL_FREE_TEXT)}",
    "crm.campaign.created.v1": lambda e: f"Campaign created on {e.channel}, owner {_owner(e.owner)}",
    "crm.campaign.audience_changed.v1": lambda e: "Campaign audience changed",
    "crm.campaign.launched.v1": lambda e: "Campaign launched",
    "crm.campaign.sent.v1": lambda e: f"Campaign sent to {len(e.contact_ids)} contacts ({e.sent_total} in all)",
    "crm.campaign.response_recorded.v1": lambda e: f"Campaign response {e.response} from contact {e.contact_id}",
    "crm.campaign.completed.v1": lambda e: "Campaign completed",
    "crm.case.opened.v1": lambda e: f"Case opened: {e.priority} priority, via {e.channel}",
    "crm.case.assigned.v1": lambda e: (
        f"Case assigned to {e.agent}" + (f" (was {e.previous_agent})" if e.previous_agent else "")
    ),
    "crm.case.responded.v1": _case_responded,
    "crm.case.pending.v1": lambda e: "Case waiting on the customer",
    "crm.case.customer_replied.v1": lambda e: "Customer replied; case open again",
    "crm.case.resolved.v1": _case_resolved,
    "crm.case.reopened.v1": lambda e: f"Case reopened (reopen {e.reopen_count})",
    "crm.case.closed.v1": lambda e: "Case closed",
    "crm.case.priority_changed.v1": lambda e: f"Case priority {e.previous_priority} → {e.priority}",
    "crm.case.sla_breached.v1": lambda e: f"SLA breached: {e.kind.replace('_', ' ')} due {e.due:%Y-%m-%d %H:%M}",
}
