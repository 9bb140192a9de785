"""Pure: one event envelope in, the warehouse changes it makes out. No I/O.

Two kinds of change:

- ``Insert``: a row of an append-only fact (an interaction, a stage interval, a consent
  change, a campaign send or response). Its key comes from the event, so a redelivered
  event produces the same row again and the writer ignores it.
- ``Patch``: absolute values for the current state of one aggregate (a deal, a case, an
  account, a campaign, a pipeline's stages, a contact's dimension row), tagged with the
  aggregate version (``sequence``) it brings the state to. ``projections.olap.merge``
  applies a patch only when its sequence is newer than the stored one.

Events of different aggregates may come in any order: nothing here looks at another
aggregate; the views join at query time. Time columns take the business time carried in
the event (``at``, ``occurred_at``) and fall back to the envelope's ``time``; all times
become naive UTC (the warehouse's ``TIMESTAMP`` columns).

Personal data never leaves this module: no name, email, phone, case subject, resolution,
deal title or interaction detail other than ``campaign_id``, ``nps``, ``ces`` and a
purchase's ``amount``; no activity subject or outcome, contract title or reason of any
kind (a rejection, a cancellation, a termination, an amendment). Product codes, names and
models are catalog data and stay.

The sales and service aggregates (products, prices, quotes, orders, contracts, activities,
agents) become append-only facts at the grain of their events (``*_history``, plus the
lines a quote was sent with and an order was placed with); their current state is a view
over those rows (``projections.olap.metrics``), so it needs no merge and reads the same as
of any instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any
from uuid import UUID

from domain.quote import Line, line_totals
from streams.envelope import Envelope, parse_time

#: Lead-score bands of dim_contact, lowest first: (lowest score in the band, label).
SCORE_BANDS: tuple[tuple[int | None, str], ...] = (
    (None, "<0"),
    (0, "0-49"),
    (50, "50-99"),
    (100, "100-199"),
    (200, "200+"),
)
#: The bands' labels, lowest first.
SCORE_BAND_LABELS = tuple(label for _, label in SCORE_BANDS)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Insert:
    table: str
    row: dict[str, Any]


@dataclass(frozen=True)
class Patch:
    table: str
    key: str
    sequence: int
    #: When the change happened (business time): where a new dim_contact version starts.
    at: datetime
    #: When the event was recorded (the envelope's time).
    recorded_at: datetime
    values: dict[str, Any] = field(default_factory=dict)


Change = Insert | Patch


def project(envelope: Envelope) -> list[Change]:
    """The warehouse changes of one event (the ``events`` fact row aside). An event type the
    warehouse does not model (yet) changes nothing; malformed data raises."""
    handler = HANDLERS.get(envelope.type)
    return handler(envelope) if handler is not None else []


def score_band(lead_score: int) -> str:
    label = SCORE_BANDS[0][1]
    for low, name in SCORE_BANDS:
        if low is None or lead_score >= low:
            label = name
    return label


def score_band_sql(score: str) -> str:
    """``score_band`` in SQL: the band of the integer expression ``score``."""
    whens = " ".join(f"WHEN {score} < {upper} THEN '{label}'" for (_, label), (upper, _) in pairwise(SCORE_BANDS))
    return f"CASE {whens} ELSE '{SCORE_BANDS[-1][1]}' END"


# -- helpers ---------------------------------------------------------------------------


def utc(value: str | datetime | None) -> datetime | None:
    """An RFC 3339 time (or an aware datetime) as naive UTC."""
    return None if value is None else parse_time(value).replace(tzinfo=None)


def _at(envelope: Envelope, name: str = "at") -> datetime:
    """The business time of the event, or the envelope's time when it carries none."""
    moment = utc(envelope.data.get(name)) or utc(envelope.time)
    assert moment is not None
    return moment


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount.quantize(_CENT) if amount.is_finite() else None


def as_uuid(value: Any) -> str | None:
    try:
        return str(UUID(str(value))) if value is not None else None
    except ValueError:
        return None


def score(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def _patch(envelope: Envelope, table: str, values: dict[str, Any], at: datetime | None = None) -> Patch:
    recorded = utc(envelope.time)
    assert recorded is not None
    return Patch(table, envelope.subject, envelope.sequence, at or recorded, recorded, values)


# -- contact ----------------------------------------------------------------------------


def _contact_created(e: Envelope) -> list[Change]:
    d = e.data
    return [
        _patch(
            e,
            "dim_contact",
            {
                "lifecycle_stage": d.get("lifecycle_stage"),
                "owner": d.get("owner"),
                "score_band": score_band(0),
                "status": "active",
                "account_id": as_uuid(d.get("account_id")),
                "consented": False,
                "created_at": utc(e.time),
            },
        )
    ]


def _contact_details_changed(e: Envelope) -> list[Change]:
    changes = e.data.get("changes") or {}
    return [_patch(e, "dim_contact", {"owner": changes["owner"]})] if "owner" in changes else []


def _interaction_recorded(e: Envelope) -> list[Change]:
    d = e.data
    details = d.get("details") or {}
    kind = d["interaction_type"]
    occurred_at = _at(e, "occurred_at")
    row = {
        "contact_id": e.subject,
        "sequence": e.sequence,
        "interaction_type": kind,
        "occurred_at": occurred_at,
        "points": d.get("points"),
        "lead_score": d.get("lead_score"),
        "campaign_id": as_uuid(details.get("campaign_id")),
        "nps": score(details.get("nps"), 0, 10),
        "ces": score(details.get("ces"), 1, 7),
        "amount": money(details.get("amount")) if kind == "purchase" else None,
    }
    changes: list[Change] = [Insert("interactions", row)]
    if d.get("lead_score") is not None:
        changes.append(_patch(e, "dim_contact", {"score_band": score_band(d["lead_score"])}, occurred_at))
    return changes


def _consent(given: bool) -> Callable[[Envelope], list[Change]]:
    def project_consent(e: Envelope) -> list[Change]:
        at = _at(e)
        return [
            Insert(
                "consent_changes", {"contact_id": e.subject, "sequence": e.sequence, "changed_at": at, "given": given}
            ),
            _patch(e, "dim_contact", {"consented": given}, at),
        ]

    return project_consent


def _lifecycle_stage_changed(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_contact", {"lifecycle_stage": e.data["to_stage"]}, _at(e))]


def _account_linked(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_contact", {"account_id": as_uuid(e.data.get("account_id"))})]


def _absorbed(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_contact", {"score_band": score_band(e.data["lead_score"])})]


def _merged_into(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_contact", {"status": "merged"})]


def _erased(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_contact", {"status": "erased"}, _at(e))]


# -- account, pipeline, campaign --------------------------------------------------------


def _account_created(e: Envelope) -> list[Change]:
    d = e.data
    values = {k: d.get(k) for k in ("industry", "size", "owner")}
    return [_patch(e, "dim_account", {**values, "contacts": 0, "created_at": utc(e.time)})]


def _account_details_changed(e: Envelope) -> list[Change]:
    changes = e.data.get("changes") or {}
    values = {k: v for k, v in changes.items() if k in ("industry", "size", "owner")}
    return [_patch(e, "dim_account", values)] if values else []


def _account_members(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_account", {"contacts": len(e.data.get("contacts") or [])})]


def _pipeline(e: Envelope) -> list[Change]:
    stages = [{"key": s["key"], "name": s["name"], "probability": float(s["probability"])} for s in e.data["stages"]]
    values: dict[str, Any] = {"stages": stages}
    if "name" in e.data and e.type == "crm.pipeline.created.v1":
        values["pipeline_name"] = e.data["name"]
    return [_patch(e, "dim_pipeline_stage", values)]


def _campaign_created(e: Envelope) -> list[Change]:
    d = e.data
    values = {k: d.get(k) for k in ("name", "channel", "owner", "status")}
    return [_patch(e, "dim_campaign", {**values, "created_at": utc(e.time)})]


def _campaign_launched(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_campaign", {"status": "running", "launched_at": _at(e)})]


def _campaign_completed(e: Envelope) -> list[Change]:
    return [_patch(e, "dim_campaign", {"status": "completed", "completed_at": _at(e)})]


def _campaign_sent(e: Envelope) -> list[Change]:
    at = _at(e)
    return [
        Insert(
            "campaign_sends",
            {"campaign_id": e.subject, "contact_id": as_uuid(c), "sent_at": at, "sequence": e.sequence},
        )
        for c in e.data["contact_ids"]
    ]


def _campaign_response(e: Envelope) -> list[Change]:
    row = {
        "campaign_id": e.subject,
        "contact_id": as_uuid(e.data["contact_id"]),
        "response": e.data["response"],
        "responded_at": _at(e),
        "sequence": e.sequence,
    }
    return [Insert("campaign_responses", row)]


# -- deal -------------------------------------------------------------------------------


def _deal_created(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    values = {
        "pipeline_id": as_uuid(d["pipeline_id"]),
        "contact_id": as_uuid(d.get("contact_id")),
        "account_id": as_uuid(d.get("account_id")),
        "owner": d.get("owner"),
        "amount": money(d.get("amount")),
        "currency": d.get("currency"),
        "status": "open",
        "stage": d["stage"],
        "probability": d.get("probability"),
        "created_at": at,
        "stage_entered_at": at,
        "expected_close_on": _day(d.get("expected_close_on")),
    }
    return [_patch(e, "deals", values, at)]


def _interval(e: Envelope, how_left: str, to_stage: str) -> Insert:
    left_at = _at(e)
    seconds = float(e.data["seconds_in_stage"])
    row = {
        "deal_id": e.subject,
        "sequence": e.sequence,
        "pipeline_id": None,  # the deal's; the writer fills it from deals (or a view joins it)
        "stage": e.data["from_stage"],
        "entered_at": left_at - timedelta(microseconds=round(seconds * 1_000_000)),
        "left_at": left_at,
        "seconds": seconds,
        "how_left": how_left,
        "to_stage": to_stage,
    }
    return Insert("deal_stage_intervals", row)


def _deal_stage_changed(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    values = {"stage": d["to_stage"], "probability": d.get("probability"), "stage_entered_at": at}
    return [_interval(e, "moved", d["to_stage"]), _patch(e, "deals", values, at)]


def _deal_won(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    values = {
        "status": "won",
        "stage": "won",
        "probability": 1.0,
        "amount": money(d.get("amount")),
        "currency": d.get("currency"),
        "closed_on": _day(d.get("closed_on")),
        "won_at": at,
        "lost_at": None,
        "lost_reason": None,
        "stage_entered_at": at,
    }
    return [_interval(e, "won", "won"), _patch(e, "deals", values, at)]


def _deal_lost(e: Envelope) -> list[Change]:
    at = _at(e)
    values = {
        "status": "lost",
        "stage": "lost",
        "probability": 0.0,
        "lost_at": at,
        "lost_reason": e.data.get("reason"),
        "closed_on": at.date(),
        "won_at": None,
        "stage_entered_at": at,
    }
    return [_interval(e, "lost", "lost"), _patch(e, "deals", values, at)]


def _deal_reopened(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    values = {
        "status": "open",
        "stage": d["to_stage"],
        "probability": d.get("probability"),
        "stage_entered_at": at,
        "closed_on": None,
        "won_at": None,
        "lost_at": None,
        "lost_reason": None,
    }
    return [_patch(e, "deals", values, at)]


def _deal_details_changed(e: Envelope) -> list[Change]:
    changes = e.data.get("changes") or {}
    convert: dict[str, Callable[[Any], Any]] = {
        "amount": money,
        "currency": lambda v: v,
        "owner": lambda v: v,
        "expected_close_on": _day,
    }
    values = {k: convert[k](v) for k, v in changes.items() if k in convert}
    return [_patch(e, "deals", values)] if values else []


def _deal_orders_changed(e: Envelope) -> list[Change]:
    """The deal's amount is its standing orders' total, whatever its status: a won deal's
    revenue (and so the lifetime value) follows orders placed or cancelled after the win."""
    return [_patch(e, "deals", {"amount": money(e.data["amount"])}, _at(e))]


# -- case -------------------------------------------------------------------------------


def _case_opened(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    values = {
        "contact_id": as_uuid(d["contact_id"]),
        "priority": d["priority"],
        "channel": d.get("channel"),
        "status": d.get("status", "new"),
        "opened_at": at,
        "first_response_due": utc(d.get("first_response_due")),
        "resolution_due": utc(d.get("resolution_due")),
        "responses": 0,
        "first_response_breached": False,
        "resolution_breached": False,
        "reopen_count": 0,
        "skill": d.get("skill"),
    }
    return [_patch(e, "cases", values, at)]


def _case_assigned(e: Envelope) -> list[Change]:
    at = _at(e)
    row = {
        "case_id": e.subject,
        "sequence": e.sequence,
        "agent": e.data["agent"],
        "previous_agent": e.data.get("previous_agent"),
        "assigned_at": at,
    }
    return [
        Insert("case_assignments", row),
        _patch(e, "cases", {"agent": e.data["agent"], "status": e.data.get("status")}, at),
    ]


def _case_responded(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    values: dict[str, Any] = {"responses": d.get("responses"), "status": d.get("status")}
    if d.get("first_response"):
        values |= {
            "first_response_at": at,
            "seconds_to_first_response": d.get("seconds_to_first_response"),
            "first_response_met": d.get("first_response_met"),
        }
    return [_patch(e, "cases", values, at)]


def _case_status(status: str) -> Callable[[Envelope], list[Change]]:
    def project_status(e: Envelope) -> list[Change]:
        return [_patch(e, "cases", {"status": status}, _at(e))]

    return project_status


def _case_resolved(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    values = {
        "status": "resolved",
        "resolved_at": at,
        "seconds_to_resolution": d.get("seconds_to_resolution"),
        "resolution_met": d.get("resolution_met"),
        "first_contact_resolution": d.get("first_contact_resolution"),
        "responses": d.get("responses"),
    }
    return [_patch(e, "cases", values, at)]


def _case_reopened(e: Envelope) -> list[Change]:
    values = {
        "status": "open",
        "reopen_count": e.data.get("reopen_count"),
        "resolved_at": None,
        "seconds_to_resolution": None,
        "resolution_met": None,
        "first_contact_resolution": None,
    }
    return [_patch(e, "cases", values, _at(e))]


def _case_closed(e: Envelope) -> list[Change]:
    at = _at(e)
    return [_patch(e, "cases", {"status": "closed", "closed_at": at}, at)]


def _case_priority_changed(e: Envelope) -> list[Change]:
    d = e.data
    values = {
        "priority": d["priority"],
        "first_response_due": utc(d.get("first_response_due")),
        "resolution_due": utc(d.get("resolution_due")),
    }
    return [_patch(e, "cases", values, _at(e))]


def _case_skill_set(e: Envelope) -> list[Change]:
    return [_patch(e, "cases", {"skill": e.data.get("skill")}, _at(e))]


def _case_duplicate_linked(e: Envelope) -> list[Change]:
    at = _at(e)
    values = {"status": e.data.get("status", "closed"), "duplicate_of": as_uuid(e.data["original_id"]), "closed_at": at}
    return [_patch(e, "cases", values, at)]


def _case_breached(e: Envelope) -> list[Change]:
    kind = e.data["kind"]
    if kind not in ("first_response", "resolution"):
        raise ValueError(f"unknown SLA breach kind {kind!r}")
    return [_patch(e, "cases", {f"{kind}_breached": True}, _at(e))]


# -- catalog, quotes, orders ------------------------------------------------------------


def _history(e: Envelope, table: str, key: str, change: str, **values: Any) -> Insert:
    """One row of a ``*_history`` fact: the event's aggregate, version, kind and time."""
    return Insert(table, {key: e.subject, "sequence": e.sequence, "change": change, "happened_at": _at(e), **values})


def _product(change: str, status: str | None = None) -> Callable[[Envelope], list[Change]]:
    def project_product(e: Envelope) -> list[Change]:
        d = e.data
        given = d.get("changes") if change == "details_changed" else d
        given = given or {}
        named = [k for k in ("code", "name", "model") if k in given]
        values = {k: given.get(k) for k in ("code", "name", "model")}
        if change == "created":
            named.append("status")
        elif status is not None:
            named = ["status"]
        return [
            _history(
                e, "product_history", "product_id", change, **values, status=status, changed_fields=",".join(named)
            )
        ]

    return project_product


def _price(e: Envelope) -> list[Change]:
    d = e.data
    row = {
        "price_list_id": e.subject,
        "sequence": e.sequence,
        "product_id": as_uuid(d["product_id"]),
        "unit_price": money(d.get("unit_price")) if e.type == "crm.price_list.price_set.v1" else None,
        "previous_price": money(d.get("previous_price")),
        "changed_at": _at(e),
    }
    return [Insert("price_changes", row)]


def _line_figures(line: dict[str, Any], currency: str) -> dict[str, Any]:
    """A quote's or order's line as the warehouse keeps it, its figures computed as the
    quote computes them (``domain.quote.line_totals``): net is after discount, before tax."""
    typed = Line(
        line_id=UUID(str(line["line_id"])),
        product_id=UUID(str(line["product_id"])),
        code=line.get("code", ""),
        description="",
        quantity=Decimal(str(line["quantity"])),
        unit_price=Decimal(str(line["unit_price"])),
        discount=Decimal(str(line.get("discount") or 0)),
        tax_rate=Decimal(str(line.get("tax_rate") or 0)),
    )
    totals = line_totals(typed, currency)
    return {
        "line_id": str(typed.line_id),
        "product_id": str(typed.product_id),
        "code": typed.code,
        "quantity": float(typed.quantity),
        "unit_price": money(typed.unit_price),
        "tax_rate": float(typed.tax_rate),
        "discount": money(totals.discount),
        "net": money(totals.net),
        "tax": money(totals.tax),
        "total": money(totals.total),
    }


def _quote_created(e: Envelope) -> list[Change]:
    d = e.data
    return [
        _history(
            e,
            "quote_history",
            "quote_id",
            "created",
            revision=1,
            deal_id=as_uuid(d.get("deal_id")),
            number=d.get("number"),
            currency=d.get("currency"),
            price_list_id=as_uuid(d.get("price_list_id")),
            valid_until=_day(d.get("valid_until")),
        )
    ]


def _quote_sent(e: Envelope) -> list[Change]:
    d = e.data
    totals = d.get("totals") or {}
    at = _at(e)
    figures = {k: money(totals.get(k)) for k in ("gross", "discount", "net", "tax", "total")}
    changes: list[Change] = [
        _history(
            e,
            "quote_history",
            "quote_id",
            "sent",
            revision=d["revision"],
            valid_until=_day(d.get("valid_until")),
            **figures,
        )
    ]
    # The lines carry no currency (the quote's creation does): their figures are rounded to
    # the cent. In a currency without cents they can differ from the quote's own by less than
    # a unit, and only with a fractional quantity; quote_history holds the quote's totals.
    for line in d.get("lines") or []:
        row = {"quote_id": e.subject, "sequence": e.sequence, "revision": d["revision"], "sent_at": at}
        changes.append(Insert("quote_lines", row | _line_figures(line, "EUR")))
    return changes


def _quote_step(change: str) -> Callable[[Envelope], list[Change]]:
    def project_step(e: Envelope) -> list[Change]:
        d = e.data
        values: dict[str, Any] = {"revision": d.get("revision")}
        if change == "accepted":
            values["total"] = money(d.get("total"))
        if change == "ordered":
            values["order_id"] = as_uuid(d.get("order_id"))
        return [_history(e, "quote_history", "quote_id", change, **values)]

    return project_step


def _order_confirmed(e: Envelope) -> list[Change]:
    d = e.data
    at = _at(e)
    currency = d.get("currency") or "EUR"
    lines = [_line_figures(line, currency) for line in d.get("lines") or []]
    net = sum((line["net"] for line in lines), Decimal("0.00"))
    changes: list[Change] = [
        _history(
            e,
            "order_history",
            "order_id",
            "confirmed",
            quote_id=as_uuid(d.get("quote_id")),
            deal_id=as_uuid(d.get("deal_id")),
            currency=d.get("currency"),
            net=money(net),
            total=money(d.get("total")),
        )
    ]
    for line in lines:
        row = {"order_id": e.subject, "sequence": e.sequence, "currency": d.get("currency"), "ordered_at": at}
        changes.append(Insert("order_lines", row | line))
    return changes


def _order_step(change: str) -> Callable[[Envelope], list[Change]]:
    def project_step(e: Envelope) -> list[Change]:
        return [_history(e, "order_history", "order_id", change)]

    return project_step


# -- contracts, activities, agents ------------------------------------------------------


def _contract(change: str) -> Callable[[Envelope], list[Change]]:
    def project_contract(e: Envelope) -> list[Change]:
        d = e.data
        given = (d.get("changes") or {}) if change == "amended" else d
        values: dict[str, Any] = {
            "starts_on": _day(given.get("starts_on")),
            "ends_on": _day(given.get("ends_on") or given.get("ended_on")),
            "value": money(given.get("value")),
            "renewal_days": given.get("renewal_days"),
            "effective_on": _day(d.get("effective_on")),
            "renewal_deal_id": as_uuid(d.get("deal_id")) if change == "renewal_opened" else None,
            "changed_fields": ",".join(k for k in ("ends_on", "value", "renewal_days") if k in given)
            if change == "amended"
            else None,
        }
        if change == "signed":
            values |= {
                "account_id": as_uuid(d.get("account_id")),
                "contact_id": as_uuid(d.get("contact_id")),
                "currency": d.get("currency"),
            }
        return [_history(e, "contract_history", "contract_id", change, **values)]

    return project_contract


def _activity(change: str) -> Callable[[Envelope], list[Change]]:
    def project_activity(e: Envelope) -> list[Change]:
        d = e.data
        values: dict[str, Any] = {
            "owner": d.get("owner") if change in ("scheduled", "reassigned") else None,
            "due_at": utc(d.get("due_at")) if change in ("scheduled", "rescheduled") else None,
            "was_overdue": d.get("was_overdue") if change == "completed" else None,
        }
        if change == "scheduled":
            values |= {
                "kind": d.get("kind"),
                "regarding_type": d.get("regarding_type"),
                "regarding_id": as_uuid(d.get("regarding_id")),
            }
        return [_history(e, "activity_history", "activity_id", change, **values)]

    return project_activity


def _agent(change: str) -> Callable[[Envelope], list[Change]]:
    def project_agent(e: Envelope) -> list[Change]:
        d = e.data
        values: dict[str, Any] = {"case_id": as_uuid(d.get("case_id")), "load": d.get("load")}
        if change in ("registered", "skills_changed"):
            # Sorted, so an agent's skills read the same whatever order they were given in.
            values |= {"skills": ",".join(sorted(d.get("skills") or [])), "capacity": d.get("capacity")}
        if change == "registered":
            values |= {"handle": d.get("handle"), "load": 0}
        return [_history(e, "agent_history", "agent_id", change, **values)]

    return project_agent


#: Per registered event type (``domain.registry.EVENT_TYPES``), the warehouse changes it makes.
HANDLERS: dict[str, Callable[[Envelope], list[Change]]] = {
    "crm.contact.created.v1": _contact_created,
    "crm.contact.details_changed.v1": _contact_details_changed,
    "crm.contact.interaction_recorded.v1": _interaction_recorded,
    "crm.contact.consent_given.v1": _consent(True),
    "crm.contact.consent_withdrawn.v1": _consent(False),
    "crm.contact.lifecycle_stage_changed.v1": _lifecycle_stage_changed,
    "crm.contact.account_linked.v1": _account_linked,
    "crm.contact.absorbed.v1": _absorbed,
    "crm.contact.merged_into.v1": _merged_into,
    "crm.contact.erased.v1": _erased,
    "crm.account.created.v1": _account_created,
    "crm.account.details_changed.v1": _account_details_changed,
    "crm.account.contact_added.v1": _account_members,
    "crm.account.contact_removed.v1": _account_members,
    "crm.pipeline.created.v1": _pipeline,
    "crm.pipeline.stage_added.v1": _pipeline,
    "crm.pipeline.stage_renamed.v1": _pipeline,
    "crm.pipeline.stage_probability_changed.v1": _pipeline,
    "crm.pipeline.stages_reordered.v1": _pipeline,
    "crm.campaign.created.v1": _campaign_created,
    "crm.campaign.launched.v1": _campaign_launched,
    "crm.campaign.completed.v1": _campaign_completed,
    "crm.campaign.sent.v1": _campaign_sent,
    "crm.campaign.response_recorded.v1": _campaign_response,
    "crm.deal.created.v1": _deal_created,
    "crm.deal.stage_changed.v1": _deal_stage_changed,
    "crm.deal.won.v1": _deal_won,
    "crm.deal.lost.v1": _deal_lost,
    "crm.deal.reopened.v1": _deal_reopened,
    "crm.deal.details_changed.v1": _deal_details_changed,
    "crm.case.opened.v1": _case_opened,
    "crm.case.assigned.v1": _case_assigned,
    "crm.case.responded.v1": _case_responded,
    "crm.case.pending.v1": _case_status("pending"),
    "crm.case.customer_replied.v1": _case_status("open"),
    "crm.case.resolved.v1": _case_resolved,
    "crm.case.reopened.v1": _case_reopened,
    "crm.case.closed.v1": _case_closed,
    "crm.case.priority_changed.v1": _case_priority_changed,
    "crm.case.sla_breached.v1": _case_breached,
    "crm.case.skill_set.v1": _case_skill_set,
    "crm.case.duplicate_linked.v1": _case_duplicate_linked,
    "crm.deal.orders_changed.v1": _deal_orders_changed,
    "crm.product.created.v1": _product("created", "active"),
    "crm.product.details_changed.v1": _product("details_changed"),
    "crm.product.retired.v1": _product("retired", "retired"),
    "crm.product.reactivated.v1": _product("reactivated", "active"),
    "crm.price_list.price_set.v1": _price,
    "crm.price_list.price_removed.v1": _price,
    "crm.quote.created.v1": _quote_created,
    "crm.quote.sent.v1": _quote_sent,
    "crm.quote.revised.v1": _quote_step("revised"),
    "crm.quote.accepted.v1": _quote_step("accepted"),
    "crm.quote.rejected.v1": _quote_step("rejected"),
    "crm.quote.expired.v1": _quote_step("expired"),
    "crm.quote.ordered.v1": _quote_step("ordered"),
    "crm.order.confirmed.v1": _order_confirmed,
    "crm.order.fulfilled.v1": _order_step("fulfilled"),
    "crm.order.cancelled.v1": _order_step("cancelled"),
    "crm.contract.signed.v1": _contract("signed"),
    "crm.contract.amended.v1": _contract("amended"),
    "crm.contract.renewal_opened.v1": _contract("renewal_opened"),
    "crm.contract.renewed.v1": _contract("renewed"),
    "crm.contract.terminated.v1": _contract("terminated"),
    "crm.contract.lapsed.v1": _contract("lapsed"),
    "crm.activity.scheduled.v1": _activity("scheduled"),
    "crm.activity.rescheduled.v1": _activity("rescheduled"),
    "crm.activity.reassigned.v1": _activity("reassigned"),
    "crm.activity.became_overdue.v1": _activity("became_overdue"),
    "crm.activity.completed.v1": _activity("completed"),
    "crm.activity.cancelled.v1": _activity("cancelled"),
    "crm.agent.registered.v1": _agent("registered"),
    "crm.agent.skills_changed.v1": _agent("skills_changed"),
    "crm.agent.case_taken.v1": _agent("case_taken"),
    "crm.agent.case_released.v1": _agent("case_released"),
}
#: Registered event types that change no warehouse table on purpose (each is still a row of
#: the ``events`` fact): a follow-up task is operational work, and a campaign's audience is
#: a rule its sends make concrete (``campaign_sends``).
IGNORED = frozenset(
    {
        "crm.contact.follow_up_assigned.v1",
        "crm.campaign.audience_changed.v1",
        # Access to the API is not customer activity (the events table keeps them, though).
        "crm.apikey.created.v1",
        "crm.apikey.revoked.v1",
        # A draft quote's edits: what counts is what was sent (each ``sent`` carries its lines,
        # totals and validity) and what became of it.
        "crm.quote.line_added.v1",
        "crm.quote.line_removed.v1",
        "crm.quote.validity_changed.v1",
        # A price list's name, currency and validity are the quoting rule; every quote and
        # order carries its currency and prices, and ``price_changes`` keeps the prices.
        "crm.price_list.created.v1",
        "crm.price_list.validity_changed.v1",
        # A reminder is a notification to the owner, not a change of the activity.
        "crm.activity.reminded.v1",
        # How repeated cases are recognised (internal bookkeeping): the outcome is the
        # case's own ``duplicate_linked`` (cases.duplicate_of).
        "crm.case_thread.started.v1",
        "crm.case_thread.case_added.v1",
    }
)
