"""One line, for people, per event: "Email opened: +10 points, score 40".

The one description of an event, from its published form: the CloudEvent's ``type`` and
``data`` (JSON values: times in RFC 3339, amounts and ids as strings). The contact
timeline (``projections.oltp.timeline``) stores it with each row; the audit history
(``replay.history``) shows it beside each event.

A summary shows structured facts only (stages, scores, amounts, priorities, staff names,
ids), never a personal field nor other free text (names, email addresses, phone numbers,
interaction notes, case subjects and resolutions, deal titles, reasons): audit trails are
exported and shared, and personal fields travel sealed anyway. Where an event's changes
may hold free text, only the fields in an allow-list show their values; the others show
their names.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

Data = Mapping[str, Any]


def summary(event_type: str, data: Data) -> str:
    """The summary of one event; an event type without one gets its own name in words.
    Raises (``KeyError``, ``TypeError``…) on data that does not have the type's shape."""
    describe = SUMMARIES.get(event_type)
    if describe is None:
        return _words(event_type.split(".")[2]).capitalize()
    return describe(data)


def duration(seconds: float) -> str:
    """40 seconds, 12 minutes, 5.0 hours, 3.2 days."""
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


def _words(key: str | None) -> str:
    return (key or "").replace("_", " ")


def _money(amount: Any, currency: Any) -> str:
    return f"{amount} {currency}" if amount is not None else "no amount"


def _date(value: str) -> str:
    return value[:10]


def _minute(value: str) -> str:
    """``2026-03-02T10:00:00Z`` → ``2026-03-02 10:00 UTC``."""
    return f"{value[:16].replace('T', ' ')} UTC"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _owner(d: Data) -> str:
    return f", owner {d['owner']}" if d.get("owner") else ""


def _changes(changes: Mapping[str, Any], shown: Collection[str]) -> str:
    """``owner → ben; email; tags cleared``: values only of the ``shown`` fields."""
    parts = []
    for field, value in sorted(changes.items()):
        if field not in shown:
            parts.append(_words(field))
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else value
        parts.append(f"{_words(field)} → {text}" if text not in (None, "") else f"{_words(field)} cleared")
    return "; ".join(parts)


def _deadline(met: Any) -> str:
    return "within its deadline" if met else "past its deadline"


# -- contact ------------------------------------------------------------------------------

#: Fields of a contact's changes whose values a summary shows (the others may name a person).
_CONTACT_SHOWN = ("owner", "tags")


def _contact_created(d: Data) -> str:
    text = f"Contact created as {_words(d['lifecycle_stage'])}{_owner(d)}"
    return text + (f", tags {', '.join(d['tags'])}" if d.get("tags") else "")


def _interaction(d: Data) -> str:
    text = _words(d["interaction_type"]).capitalize()
    details = d.get("details") or {}
    scores = [f"{k.upper()} {details[k]}" for k in ("nps", "ces") if isinstance(details.get(k), int)]
    if scores:
        text += f" ({', '.join(scores)})"
    if details.get("campaign_id"):
        text += " in a campaign"
    if d.get("points"):
        text += f": {d['points']:+d} points, score {d['lead_score']}"
    return text


def _account_linked(d: Data) -> str:
    return f"Linked to account {d['account_id']}" if d.get("account_id") else "Unlinked from its account"


def _follow_up(d: Data) -> str:
    return f"Follow-up task for {d.get('owner') or 'the team'}, due {_date(d['due_at'])}"


def _absorbed(d: Data) -> str:
    text = f"Absorbed contact {d['absorbed_id']}, score now {d['lead_score']}"
    return text + (f", tags {', '.join(d['tags'])}" if d.get("tags") else "")


# -- account and pipeline -------------------------------------------------------------------

_ACCOUNT_SHOWN = ("domain", "industry", "size", "owner")


def _members(d: Data, verb: str) -> str:
    return f"Contact {d['contact_id']} {verb} the account ({len(d['contacts'])} now)"


def _stage_list(keys: Collection[str]) -> str:
    return " → ".join(keys)


# -- deal -----------------------------------------------------------------------------------

#: Fields of a deal's changes whose values a summary shows (not its title: free text).
_DEAL_SHOWN = ("amount", "currency", "owner", "expected_close_on")


def _deal_created(d: Data) -> str:
    return (
        f"Deal created in {_words(d['stage'])} ({d['probability']:.0%}), "
        f"{_money(d['amount'], d['currency'])}{_owner(d)}"
    )


def _deal_won(d: Data) -> str:
    return (
        f"Deal won from {_words(d['from_stage'])} after {duration(d['seconds_in_stage'])}: "
        f"{_money(d['amount'], d['currency'])}, closed on {d['closed_on']}"
    )


# -- case -----------------------------------------------------------------------------------


def _case_assigned(d: Data) -> str:
    return f"Case assigned to {d['agent']}" + (f" (was {d['previous_agent']})" if d.get("previous_agent") else "")


def _case_responded(d: Data) -> str:
    who = f" by {d['agent']}" if d.get("agent") else ""
    if not d.get("first_response"):
        return f"Response{who}"
    after = duration(d.get("seconds_to_first_response") or 0)
    return f"First response{who} after {after}, {_deadline(d.get('first_response_met'))}"


def _case_resolved(d: Data) -> str:
    how = " at first contact" if d.get("first_contact_resolution") else ""
    return f"Case resolved{how} after {duration(d['seconds_to_resolution'])}, {_deadline(d.get('resolution_met'))}"


#: Per registered event type (``domain.registry.EVENT_TYPES``), its summary.
SUMMARIES: dict[str, Callable[[Data], str]] = {
    "crm.contact.created.v1": _contact_created,
    "crm.contact.details_changed.v1": lambda d: f"Details changed: {_changes(d['changes'], _CONTACT_SHOWN)}",
    "crm.contact.interaction_recorded.v1": _interaction,
    "crm.contact.consent_given.v1": lambda d: f"Marketing consent given ({d['source']})",
    "crm.contact.consent_withdrawn.v1": lambda d: f"Marketing consent withdrawn ({d['source']})",
    "crm.contact.lifecycle_stage_changed.v1": lambda d: (
        f"Lifecycle stage {_words(d['from_stage'])} → {_words(d['to_stage'])}"
    ),
    "crm.contact.account_linked.v1": _account_linked,
    "crm.contact.follow_up_assigned.v1": _follow_up,
    "crm.contact.merged_into.v1": lambda d: f"Merged into contact {d['survivor_id']}; read-only from now on",
    "crm.contact.absorbed.v1": _absorbed,
    "crm.contact.erased.v1": lambda d: "Personal data erased",
    "crm.account.created.v1": lambda d: f"Account created{_owner(d)}",
    "crm.apikey.created.v1": lambda d: f"API key {d['name']} created for {', '.join(d['roles'])}",
    "crm.apikey.revoked.v1": lambda d: "API key revoked" + (f" ({d['reason']})" if d.get("reason") else ""),
    "crm.account.details_changed.v1": lambda d: f"Account changed: {_changes(d['changes'], _ACCOUNT_SHOWN)}",
    "crm.account.contact_added.v1": lambda d: _members(d, "joined"),
    "crm.account.contact_removed.v1": lambda d: _members(d, "left"),
    "crm.pipeline.created.v1": lambda d: f"Pipeline created: {_stage_list([s['key'] for s in d['stages']])}",
    "crm.pipeline.stage_added.v1": lambda d: f"Stage {d['key']} added at {d['position']} ({d['probability']:.0%})",
    "crm.pipeline.stage_renamed.v1": lambda d: f"Stage {d['key']} renamed",
    "crm.pipeline.stage_probability_changed.v1": lambda d: f"Stage {d['key']} probability → {d['probability']:.0%}",
    "crm.pipeline.stages_reordered.v1": lambda d: f"Stages reordered: {_stage_list(d['keys'])}",
    "crm.deal.created.v1": _deal_created,
    "crm.deal.stage_changed.v1": lambda d: (
        f"Deal moved from {_words(d['from_stage'])} to {_words(d['to_stage'])} after {duration(d['seconds_in_stage'])}"
    ),
    "crm.deal.won.v1": _deal_won,
    "crm.deal.lost.v1": lambda d: f"Deal lost in {_words(d['from_stage'])} after {duration(d['seconds_in_stage'])}",
    "crm.deal.reopened.v1": lambda d: f"Deal reopened into {_words(d['to_stage'])} (was {d['previous_status']})",
    "crm.deal.details_changed.v1": lambda d: f"Deal changed: {_changes(d['changes'], _DEAL_SHOWN)}",
    "crm.campaign.created.v1": lambda d: f"Campaign created on {d['channel']}{_owner(d)}",
    "crm.campaign.audience_changed.v1": lambda d: "Campaign audience changed",
    "crm.campaign.launched.v1": lambda d: "Campaign launched",
    "crm.campaign.sent.v1": lambda d: (
        f"Campaign sent to {_count(len(d['contact_ids']), 'contact')} ({d['sent_total']} in all)"
    ),
    "crm.campaign.response_recorded.v1": lambda d: f"Campaign response {d['response']} from contact {d['contact_id']}",
    "crm.campaign.completed.v1": lambda d: "Campaign completed",
    "crm.case.opened.v1": lambda d: f"Case opened: {d['priority']} priority, via {d['channel']}",
    "crm.case.assigned.v1": _case_assigned,
    "crm.case.responded.v1": _case_responded,
    "crm.case.pending.v1": lambda d: "Case waiting on the customer",
    "crm.case.customer_replied.v1": lambda d: "Customer replied; case open again",
    "crm.case.resolved.v1": _case_resolved,
    "crm.case.reopened.v1": lambda d: f"Case reopened (reopen #{d['reopen_count']})",
    "crm.case.closed.v1": lambda d: "Case closed",
    "crm.case.priority_changed.v1": lambda d: f"Case priority {d['previous_priority']} → {d['priority']}",
    "crm.case.sla_breached.v1": lambda d: f"SLA breached: {_words(d['kind'])} was due {_minute(d['due'])}",
}
