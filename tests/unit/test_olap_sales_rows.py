"""The warehouse's handlers for the sales and service events are pure: envelopes of real
aggregates in, rows out (tests/every_event.py tells a story with every event type)."""

from __future__ import annotations

from decimal import Decimal

from domain.registry import EVENT_TYPES
from projections.olap import merge, rows, schema
from projections.olap.rows import Insert, Patch
from streams.envelope import Envelope
from tests.every_event import PERSONAL, every_envelope
from tests.oltp_story import personal_in

SALES = ("product", "price_list", "quote", "order", "contract", "activity", "agent", "case_thread")


def changes_by_type() -> dict[str, list[tuple[Envelope, list[Insert | Patch]]]]:
    out: dict[str, list[tuple[Envelope, list[Insert | Patch]]]] = {}
    for envelope in every_envelope():
        out.setdefault(envelope.type, []).append((envelope, rows.project(envelope)))
    return out


def inserts(changes: list[Insert | Patch], table: str) -> list[dict]:
    return [c.row for c in changes if isinstance(c, Insert) and c.table == table]


def test_every_sales_and_service_event_type_is_handled_or_ignored_and_fits_its_table():
    projected = changes_by_type()
    for event_type in EVENT_TYPES:
        if event_type.split(".")[1] not in SALES:
            continue
        assert event_type in rows.HANDLERS or event_type in rows.IGNORED, event_type
        for _, changes in projected[event_type]:
            if event_type in rows.IGNORED:
                assert changes == [], event_type
            for change in changes:
                assert isinstance(change, Insert), event_type  # state is a view: the writer only appends
                table = schema.TABLES[change.table]
                assert set(change.row) <= set(table.column_names), (
                    event_type,
                    set(change.row) - set(table.column_names),
                )
                assert all(change.row.get(k) is not None for k in table.key), event_type
                table.to_arrow([change.row])  # typed as the table says


def test_no_personal_text_in_any_row_of_the_sales_and_service_events():
    # (A lost deal's reason is the deals table's lost_reason, as it always was.)
    new = {
        "crm.case.skill_set.v1",
        "crm.case.duplicate_linked.v1",
        "crm.case.assigned.v1",
        "crm.deal.orders_changed.v1",
    }
    for envelope in every_envelope():
        if envelope.aggregate_type not in SALES and envelope.type not in new:
            continue
        assert personal_in(repr(rows.project(envelope)), PERSONAL) == [], envelope.type


def test_a_sent_quote_keeps_its_totals_and_lines_and_an_order_its_lines_net():
    projected = changes_by_type()
    envelope, sent = projected["crm.quote.sent.v1"][0]
    (history,) = inserts(sent, "quote_history")
    assert (history["change"], history["revision"], history["net"], history["total"]) == (
        "sent",
        1,
        Decimal("190.00"),
        Decimal("228.00"),
    )
    (line,) = inserts(sent, "quote_lines")
    # 2 × 100.00 − 10.00 off = 190.00 net; 20 % tax = 38.00.
    assert (line["quantity"], line["net"], line["tax"], line["total"]) == (
        2.0,
        Decimal("190.00"),
        Decimal("38.00"),
        Decimal("228.00"),
    )
    _, confirmed = projected["crm.order.confirmed.v1"][0]
    (order,) = inserts(confirmed, "order_history")
    assert (order["change"], order["net"], order["total"], order["currency"]) == (
        "confirmed",
        Decimal("190.00"),
        Decimal("228.00"),
        "EUR",
    )
    assert [(line["code"], line["net"]) for line in inserts(confirmed, "order_lines")] == [("W-1", Decimal("190.00"))]
    _, rejected = projected["crm.quote.rejected.v1"][0]
    assert "reason" not in inserts(rejected, "quote_history")[0]


def test_a_won_deals_amount_follows_its_orders():
    deal_events = [e for e in every_envelope() if e.aggregate_type == "deal"]
    patches = [c for e in deal_events for c in rows.project(e) if isinstance(c, Patch) and c.table == "deals"]
    row = merge.merge_row("deals", "deal_id", deal_events[0].subject, None, patches)
    assert row is not None
    # Won at 1100.00, then its order of 228.00: the amount is the order's, the deal still won.
    assert (row["status"], row["amount"]) == ("won", Decimal("228.00"))


def test_a_duplicate_case_is_closed_and_points_at_its_original_and_skills_are_kept():
    projected = changes_by_type()
    envelope, linked = projected["crm.case.duplicate_linked.v1"][0]
    (patch,) = linked
    assert isinstance(patch, Patch) and patch.table == "cases"
    assert patch.values["status"] == "closed" and patch.values["duplicate_of"] == envelope.data["original_id"]
    assert patch.values["closed_at"] == patch.at
    (skill,) = [c for _, cs in projected["crm.case.skill_set.v1"] for c in cs]
    assert isinstance(skill, Patch) and skill.values == {"skill": "billing"}
    _, assigned = projected["crm.case.assigned.v1"][0]
    assert [(r["agent"], r["previous_agent"]) for r in inserts(assigned, "case_assignments")] == [("sam", None)]


def test_contracts_activities_agents_and_products_keep_structured_facts_only():
    projected = changes_by_type()
    _, amended = projected["crm.contract.amended.v1"][0]
    (row,) = inserts(amended, "contract_history")
    assert (row["value"], row["changed_fields"], row["ends_on"]) == (Decimal("1500.00"), "value", None)
    _, terminated = projected["crm.contract.terminated.v1"][0]
    assert inserts(terminated, "contract_history")[0]["effective_on"].isoformat() == "2027-06-30"
    _, completed = projected["crm.activity.completed.v1"][0]
    (done,) = inserts(completed, "activity_history")
    assert done["was_overdue"] is True and "outcome" not in done
    _, reassigned = projected["crm.activity.reassigned.v1"][0]
    assert inserts(reassigned, "activity_history")[0]["owner"] == "ben"
    _, skills = projected["crm.agent.skills_changed.v1"][0]
    assert inserts(skills, "agent_history")[0]["skills"] == "billing,de"
    loads = [
        inserts(c, "agent_history")[0]["load"]
        for t in ("crm.agent.case_taken.v1", "crm.agent.case_released.v1")
        for _, c in projected[t]
    ]
    assert loads == [1, 0]
    _, renamed = projected["crm.product.details_changed.v1"][0]
    (product,) = inserts(renamed, "product_history")
    assert (product["name"], product["changed_fields"], product["model"]) == ("Widget Pro", "name", None)
    _, removed = projected["crm.price_list.price_removed.v1"][0]
    (price,) = inserts(removed, "price_changes")
    assert (price["unit_price"], price["previous_price"]) == (None, Decimal("5.00"))


def test_a_redelivered_event_makes_the_same_rows():
    for envelope in every_envelope():
        assert rows.project(envelope) == rows.project(envelope)
