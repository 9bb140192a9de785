"""One line, for people, per event: "Email opened: +10 points, score 40".

The one description of an event, from its published form: the CloudEvent's ``type`` and
``data`` (JSON values: times in RFC 3339, amounts and ids as strings). The contact
timeline (``projections.oltp.timeline``) stores it with each row; the audit history
(``replay.history``) shows it beside each event.

A summary shows structured facts only (stages, scores, amounts, quantities, priorities,
statuses, staff names, ids, dates), never a personal field nor other free text (names,
email addresses, phone numbers, interaction notes, case subjects and resolutions, deal and
contract titles, product names and specifications, activity subjects and outcomes,
reasons): audit trails are
exported and shared, and personal fields travel sealed anyway. Where an event's changes
may hold free text, only the fields in an allow-list show their values; the others show
their names.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
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


def _case_skill_set(d: Data) -> str:
    return f"Case needs the skill {d['skill']}" if d["skill"] else "Case needs no particular skill"


def _orders_changed(d: Data) -> str:
    if d.get("order_total") is None:
        what = f"Order {d['order_id']} cancelled"
    else:
        what = f"Order {d['order_id']} placed ({d['order_total']})"
    return f"{what}; deal amount {d['amount']} from {_count(d['orders'], 'order')}"


# -- catalog --------------------------------------------------------------------------------

#: Fields of a product's changes whose values a summary shows (its name and specification
#: are free text).
_PRODUCT_SHOWN = ("model",)


def _price_set(d: Data) -> str:
    was = f" (was {d['previous_price']})" if d.get("previous_price") is not None else " (new)"
    return f"Price of product {d['product_id']} set to {d['unit_price']}{was}"


def _validity(d: Data) -> str:
    until = f"until {d['valid_until']}" if d.get("valid_until") else "with no end"
    return f"valid from {d['valid_from']} {until}"


# -- quote and order ------------------------------------------------------------------------


def _line(line: Data) -> str:
    """``2 × W-1 at 100.00, 10.00 off, tax 20%``: the product's code, never its description."""
    text = f"{line['quantity']} × {line['code']} at {line['unit_price']}"
    if Decimal(line.get("discount") or 0):
        text += f", {line['discount']} off"
    return text + f", tax {line['tax_rate']}%"


def _quote_sent(d: Data) -> str:
    return (
        f"Quote revision {d['revision']} sent: {_count(len(d['lines']), 'line')}, "
        f"total {d['totals']['total']}, valid until {d['valid_until']}"
    )


def _order_confirmed(d: Data) -> str:
    return (
        f"Order confirmed from quote {d['quote_number']}: {_count(len(d['lines']), 'line')}, "
        f"total {_money(d['total'], d['currency'])}"
    )


# -- contract -------------------------------------------------------------------------------

#: Fields of a contract's amendment whose values a summary shows (not its title: free text).
_CONTRACT_SHOWN = ("ends_on", "value", "renewal_days")


def _contract_signed(d: Data) -> str:
    party = (
        f" with account {d['account_id']}"
        if d.get("account_id")
        else (f" with contact {d['contact_id']}" if d.get("contact_id") else "")
    )
    return (
        f"Contract signed{party}: {_money(d['value'], d['currency'])}, {d['starts_on']} to {d['ends_on']}, "
        f"renewal opens {d['renewal_days']} days before the end"
    )


# -- activity -------------------------------------------------------------------------------


def _activity_scheduled(d: Data) -> str:
    text = (
        f"{_words(d['kind']).capitalize()} about {d['regarding_type']} {d['regarding_id']} "
        f"for {d['owner']}, due {_minute(d['due_at'])}"
    )
    reminders = d.get("reminders") or []
    if reminders:
        text += f", reminders {', '.join(map(str, reminders))} minutes before"
    return text


def _activity_completed(d: Data) -> str:
    return "Activity completed" + (" after it was overdue" if d.get("was_overdue") else "")


# -- routing --------------------------------------------------------------------------------


def _skills(d: Data) -> str:
    skills = ", ".join(d["skills"]) if d.get("skills") else "none"
    return f"skills {skills}; capacity {d['capacity']}"


def _thread_case(d: Data) -> str:
    text = f"Case {d['case_id']} joined the thread"
    return text + (f" as a repeat of case {d['duplicate_of']}" if d.get("duplicate_of") else "")


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
    "crm.deal.orders_changed.v1": _orders_changed,
    "crm.case.opened.v1": lambda d: f"Case opened: {d['priority']} priority, via {d['channel']}",
    "crm.case.skill_set.v1": _case_skill_set,
    "crm.case.assigned.v1": _case_assigned,
    "crm.case.responded.v1": _case_responded,
    "crm.case.pending.v1": lambda d: "Case waiting on the customer",
    "crm.case.customer_replied.v1": lambda d: "Customer replied; case open again",
    "crm.case.resolved.v1": _case_resolved,
    "crm.case.reopened.v1": lambda d: f"Case reopened (reopen #{d['reopen_count']})",
    "crm.case.closed.v1": lambda d: "Case closed",
    "crm.case.priority_changed.v1": lambda d: f"Case priority {d['previous_priority']} → {d['priority']}",
    "crm.case.sla_breached.v1": lambda d: f"SLA breached: {_words(d['kind'])} was due {_minute(d['due'])}",
    "crm.case.duplicate_linked.v1": lambda d: f"Case closed as a repeat of case {d['original_id']}",
    "crm.product.created.v1": lambda d: f"Product {d['code']} created",
    "crm.product.details_changed.v1": lambda d: f"Product changed: {_changes(d['changes'], _PRODUCT_SHOWN)}",
    "crm.product.retired.v1": lambda d: "Product retired",
    "crm.product.reactivated.v1": lambda d: "Product back on sale",
    "crm.price_list.created.v1": lambda d: f"Price list created in {d['currency']}, {_validity(d)}",
    "crm.price_list.price_set.v1": _price_set,
    "crm.price_list.price_removed.v1": lambda d: (
        f"Price of product {d['product_id']} removed (was {d['previous_price']})"
    ),
    "crm.price_list.validity_changed.v1": lambda d: f"Price list now {_validity(d)}",
    "crm.quote.created.v1": lambda d: (
        f"Quote {d['number']} created for deal {d['deal_id']} in {d['currency']}, valid until {d['valid_until']}"
    ),
    "crm.quote.line_added.v1": lambda d: f"Line added: {_line(d['line'])}",
    "crm.quote.line_removed.v1": lambda d: f"Line {d['line_id']} removed",
    "crm.quote.validity_changed.v1": lambda d: f"Quote now valid until {d['valid_until']}",
    "crm.quote.sent.v1": _quote_sent,
    "crm.quote.revised.v1": lambda d: f"Quote revision {d['revision']} drafted",
    "crm.quote.accepted.v1": lambda d: f"Quote revision {d['revision']} accepted: total {d['total']}",
    "crm.quote.rejected.v1": lambda d: f"Quote revision {d['revision']} rejected",
    "crm.quote.expired.v1": lambda d: f"Quote revision {d['revision']} expired (valid until {d['valid_until']})",
    "crm.quote.ordered.v1": lambda d: f"Quote ordered as order {d['order_id']}",
    "crm.order.confirmed.v1": _order_confirmed,
    "crm.order.fulfilled.v1": lambda d: "Order fulfilled",
    "crm.order.cancelled.v1": lambda d: "Order cancelled",
    "crm.contract.signed.v1": _contract_signed,
    "crm.contract.amended.v1": lambda d: f"Contract amended: {_changes(d['changes'], _CONTRACT_SHOWN)}",
    "crm.contract.renewal_opened.v1": lambda d: (
        f"Renewal deal {d['deal_id']} opened for the term ending {d['ends_on']}"
    ),
    "crm.contract.renewed.v1": lambda d: f"Contract renewed: {d['starts_on']} to {d['ends_on']}, value {d['value']}",
    "crm.contract.terminated.v1": lambda d: f"Contract terminated, effective {d['effective_on']}",
    "crm.contract.lapsed.v1": lambda d: f"Contract lapsed: it ended on {d['ended_on']}",
    "crm.activity.scheduled.v1": _activity_scheduled,
    "crm.activity.rescheduled.v1": lambda d: (
        f"Activity due {_minute(d['due_at'])} (was {_minute(d['previous_due_at'])})"
    ),
    "crm.activity.reassigned.v1": lambda d: f"Activity reassigned to {d['owner']} (was {d['previous_owner']})",
    "crm.activity.reminded.v1": lambda d: f"Reminder {d['minutes_before']} minutes before {_minute(d['due_at'])}",
    "crm.activity.became_overdue.v1": lambda d: f"Activity of {d['owner']} overdue since {_minute(d['due_at'])}",
    "crm.activity.completed.v1": _activity_completed,
    "crm.activity.cancelled.v1": lambda d: "Activity cancelled",
    "crm.agent.registered.v1": lambda d: f"Agent {d['handle']} registered: {_skills(d)}",
    "crm.agent.skills_changed.v1": lambda d: f"Agent now has {_skills(d)}",
    "crm.agent.case_taken.v1": lambda d: f"Took case {d['case_id']} ({_count(d['load'], 'case')} now)",
    "crm.agent.case_released.v1": lambda d: f"Released case {d['case_id']} ({_count(d['load'], 'case')} now)",
    "crm.case_thread.started.v1": lambda d: f"Case thread started for contact {d['contact_id']}",
    "crm.case_thread.case_added.v1": _thread_case,
}
