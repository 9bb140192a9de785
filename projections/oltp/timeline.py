"""The contact timeline: one row per event of a contact, of a deal or of a case, with
its time, type, actor and a one-line summary for people.

Deal and case events after the first do not name the contact, so rows are keyed by the
event's own aggregate (``subject``, ``sequence``) and a contact's timeline is gathered at
read time: its own events, plus the events of the deals and cases whose rows name it,
plus the campaigns sent to it (``campaign_sends``). Nothing depends on which arrives first.

Summaries never hold personal data (``domain.privacy``: names, email addresses, phone
numbers, interaction details, case subjects and resolutions) nor other free text that may
describe a person (reasons). They hold types, stages, amounts, scores, owners, agents and
deal titles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Row, Table, column
from streams.envelope import Envelope

TABLE = Table(
    "timeline",
    (
        column("subject", "uuid", True),
        column("sequence", "int", True),
        column("aggregate_type", required=True),
        column("type", required=True),
        column("time", "ts", True),
        column("actor", required=True),
        column("summary", required=True),
        column("position", "bigint", True),
    ),
    key=("subject", "sequence"),
)

_AGGREGATES = ("contact", "deal", "case")


def project(envelope: Envelope) -> Row | None:
    if envelope.aggregate_type not in _AGGREGATES:
        return None
    return Row(
        TABLE.name,
        {
            "subject": envelope.subject,
            "sequence": envelope.sequence,
            "aggregate_type": envelope.aggregate_type,
            "type": envelope.type,
            "time": occurred_at(envelope),
            "actor": envelope.actor,
            "summary": summary(envelope),
            "position": envelope.position,
        },
    )


def occurred_at(envelope: Envelope) -> str:
    """When it happened: the event's own time (an interaction's ``occurred_at``, a
    deal's or case's ``at``), else when it was recorded."""
    data = envelope.data
    for name in ("occurred_at", "at"):
        if isinstance(data.get(name), str):
            return str(data[name])
    return envelope.time.isoformat()


def summary(envelope: Envelope) -> str:
    name = envelope.type.rsplit(".", 1)[0]  # crm.deal.won
    describe = _SUMMARIES.get(name)
    if describe is None:
        return _words(name.split(".")[2]).capitalize()
    return describe(envelope.data)


def _words(key: str | None) -> str:
    return (key or "").replace("_", " ")


def _money(amount: Any, currency: Any) -> str:
    return f"{amount} {currency}" if amount is not None else "no amount"


def _days(seconds: float) -> str:
    days = seconds / 86400
    if days >= 1:
        return f"{days:.0f} day{'s' if round(days) != 1 else ''}"
    hours = seconds / 3600
    return f"{hours:.0f} hour{'s' if round(hours) != 1 else ''}"


def _date(value: str) -> str:
    return value[:10] if len(value) >= 10 else value


# -- contact --------------------------------------------------------------------------


_SHOWN_DETAILS = ("owner", "tags")  # the only details whose values a summary shows


def _contact_created(d: dict[str, Any]) -> str:
    text = f"Contact created as {_words(d['lifecycle_stage'])}"
    if d.get("owner"):
        text += f", owner {d['owner']}"
    if d.get("tags"):
        text += f", tags {', '.join(d['tags'])}"
    return text


def _details_changed(d: dict[str, Any]) -> str:
    parts = []
    for field, value in sorted(d["changes"].items()):
        if field in _SHOWN_DETAILS:
            shown = ", ".join(value) if isinstance(value, list) else value
            parts.append(f"{field} → {shown}" if shown else f"{field} cleared")
        else:
            parts.append(field)
    return "Details changed: " + "; ".join(parts)


def _interaction(d: dict[str, Any]) -> str:
    text = _words(d["interaction_type"]).capitalize()
    details = d.get("details") or {}
    scores = [f"{k.upper()} {details[k]}" for k in ("nps", "ces") if isinstance(details.get(k), int)]
    if scores:
        text += f" ({', '.join(scores)})"
    if details.get("campaign_id"):
        text += " in a campaign"
    if d.get("points"):
        text += f": +{d['points']} points, score {d['lead_score']}"
    return text


def _follow_up(d: dict[str, Any]) -> str:
    return f"Follow-up task for {d.get('owner') or 'the team'}, due {_date(d['due_at'])}"


def _account_linked(d: dict[str, Any]) -> str:
    return f"Linked to account {d['account_id']}" if d.get("account_id") else "Unlinked from its account"


# -- deal -------------------------------------------------------------------------------


def _deal_created(d: dict[str, Any]) -> str:
    text = f"Deal '{d['title']}' created in {_words(d['stage'])}, {_money(d['amount'], d['currency'])}"
    return text + (f", owner {d['owner']}" if d.get("owner") else "")


def _deal_changed(d: dict[str, Any]) -> str:
    parts = []
    for field, value in sorted(d["changes"].items()):
        if field == "title":
            parts.append("title")
        else:
            parts.append(f"{_words(field)} → {value}" if value is not None else f"{_words(field)} cleared")
    return "Deal changed: " + "; ".join(parts)


# -- case -------------------------------------------------------------------------------


def _case_responded(d: dict[str, Any]) -> str:
    who = f" by {d['agent']}" if d.get("agent") else ""
    if not d.get("first_response"):
        return f"Response{who}"
    return f"First response{who}, {'within' if d.get('first_response_met') else 'past'} its deadline"


def _case_resolved(d: dict[str, Any]) -> str:
    text = "Case resolved"
    if d.get("first_contact_resolution"):
        text += " at first contact"
    return text + (", within its deadline" if d.get("resolution_met") else ", past its deadline")


def _sla_breached(d: dict[str, Any]) -> str:
    return f"SLA breached: {_words(d['kind'])} was due {d['due'][:16].replace('T', ' ')} UTC"


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "crm.contact.created": _contact_created,
    "crm.contact.details_changed": _details_changed,
    "crm.contact.interaction_recorded": _interaction,
    "crm.contact.consent_given": lambda d: f"Marketing consent given ({d['source']})",
    "crm.contact.consent_withdrawn": lambda d: f"Marketing consent withdrawn ({d['source']})",
    "crm.contact.lifecycle_stage_changed": lambda d: (
        f"Lifecycle stage {_words(d['from_stage'])} → {_words(d['to_stage'])}"
    ),
    "crm.contact.account_linked": _account_linked,
    "crm.contact.follow_up_assigned": _follow_up,
    "crm.contact.merged_into": lambda d: f"Merged into contact {d['survivor_id']}",
    "crm.contact.absorbed": lambda d: f"Absorbed contact {d['absorbed_id']}, score now {d['lead_score']}",
    "crm.contact.erased": lambda d: "Personal data erased",
    "crm.deal.created": _deal_created,
    "crm.deal.stage_changed": lambda d: (
        f"Deal moved from {_words(d['from_stage'])} to {_words(d['to_stage'])} after {_days(d['seconds_in_stage'])}"
    ),
    "crm.deal.won": lambda d: f"Deal won: {_money(d['amount'], d['currency'])}, closed on {d['closed_on']}",
    "crm.deal.lost": lambda d: f"Deal lost in {_words(d['from_stage'])}",
    "crm.deal.reopened": lambda d: f"Deal reopened into {_words(d['to_stage'])} (was {d['previous_status']})",
    "crm.deal.details_changed": _deal_changed,
    "crm.case.opened": lambda d: f"Case opened: {d['priority']} priority, via {d['channel']}",
    "crm.case.assigned": lambda d: f"Case assigned to {d['agent']}",
    "crm.case.responded": _case_responded,
    "crm.case.pending": lambda d: "Case waiting on the customer",
    "crm.case.customer_replied": lambda d: "Customer replied to the case",
    "crm.case.resolved": _case_resolved,
    "crm.case.reopened": lambda d: f"Case reopened (reopen #{d['reopen_count']})",
    "crm.case.closed": lambda d: "Case closed",
    "crm.case.priority_changed": lambda d: f"Case priority {d['previous_priority']} → {d['priority']}",
    "crm.case.sla_breached": _sla_breached,
}
