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
purchase's ``amount``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any
from uuid import UUID

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
    }
    return [_patch(e, "cases", values, at)]


def _case_assigned(e: Envelope) -> list[Change]:
    return [_patch(e, "cases", {"agent": e.data["agent"], "status": e.data.get("status")}, _at(e))]


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


def _case_breached(e: Envelope) -> list[Change]:
    kind = e.data["kind"]
    if kind not in ("first_response", "resolution"):
        raise ValueError(f"unknown SLA breach kind {kind!r}")
    return [_patch(e, "cases", {f"{kind}_breached": True}, _at(e))]


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
    }
)
