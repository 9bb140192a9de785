"""The sales and service modules through the HTTP API on the embedded store: each rule
refused and allowed, a refusal recording nothing, the deal's amount following its orders,
the quote document read back from its PDF, an owner's activities overdue first, and cases
going only to agents with their skill."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.app import create_app
from commands.activity import MarkActivityOverdue
from domain.meta import Meta


@pytest.fixture
def client(embedded) -> TestClient:
    return TestClient(create_app(embedded), headers={"X-Actor": "ana"})


def ok(answer, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    return answer.json()


def refused(answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code, answer.text


def recorded(container) -> int:
    return container.store.recorder.max_notification_id() or 0


def project(container) -> None:
    container.projector("oltp").run_until_idle(timeout=0.2)


def soon(days: int = 30) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def new_contact(client, name: str = "Ada Lovelace") -> str:
    return ok(client.post("/v1/contacts", json={"name": name}), 201)["id"]


def new_deal(client, contact: str | None = None) -> str:
    pipeline = ok(
        client.post(
            "/v1/pipelines",
            json={"name": "New business", "stages": [{"key": "qualify", "name": "Qualify", "probability": 0.1}]},
        ),
        201,
    )["id"]
    body = {"pipeline_id": pipeline, "title": "50 seats", "contact_id": contact or new_contact(client)}
    return ok(client.post("/v1/deals", json=body), 201)["id"]


@pytest.fixture
def catalog(client) -> dict[str, str]:
    return priced_catalog(client)


def priced_catalog(client) -> dict[str, str]:
    """Two products priced in one EUR list: a seat at 100.00, onboarding at 800.00."""
    seat = ok(client.post("/v1/products", json={"code": "seat", "name": "CRM seat"}), 201)["id"]
    setup = ok(client.post("/v1/products", json={"code": "setup", "name": "Onboarding"}), 201)["id"]
    prices = ok(
        client.post("/v1/price-lists", json={"name": "Standard", "currency": "EUR", "valid_from": "2020-01-01"}), 201
    )["id"]
    ok(client.put(f"/v1/price-lists/{prices}/prices/{seat}", json={"unit_price": "100.00"}))
    ok(client.put(f"/v1/price-lists/{prices}/prices/{setup}", json={"unit_price": "800"}))
    return {"seat": seat, "setup": setup, "prices": prices}


def draft(client, catalog, deal: str) -> str:
    body = {"deal_id": deal, "price_list_id": catalog["prices"], "valid_until": soon(), "number": "Q-2026-0042"}
    quote = ok(client.post("/v1/quotes", json=body), 201)
    assert (quote["status"], quote["revision"], quote["number"], quote["currency"]) == (
        "draft",
        1,
        "Q-2026-0042-1",
        "EUR",
    )
    return quote["id"]


def accepted_quote(client, catalog, deal: str) -> str:
    """2 seats less 10.00 at 20 % tax (228.00) and 1.5 onboarding (1,200.00): 1,428.00."""
    quote = draft(client, catalog, deal)
    line = {"product_id": catalog["seat"], "quantity": 2, "discount": "10", "tax_rate": 20}
    ok(client.post(f"/v1/quotes/{quote}/lines", json=line), 201)
    ok(client.post(f"/v1/quotes/{quote}/lines", json={"product_id": catalog["setup"], "quantity": "1.5"}), 201)
    ok(client.post(f"/v1/quotes/{quote}/send"))
    assert ok(client.post(f"/v1/quotes/{quote}/accept"))["status"] == "accepted"
    return quote


# -- catalog -------------------------------------------------------------------------------


def test_a_retired_product_is_neither_changed_nor_priced_until_reactivated(embedded, client, catalog):
    seat = catalog["seat"]
    assert ok(client.post(f"/v1/products/{seat}/retire"))["status"] == "retired"
    before = recorded(embedded)
    refused(client.patch(f"/v1/products/{seat}", json={"name": "Seat"}), 409, "product_retired")
    refused(
        client.put(f"/v1/price-lists/{catalog['prices']}/prices/{seat}", json={"unit_price": "1"}),
        409,
        "product_retired",
    )
    refused(client.post(f"/v1/products/{seat}/retire"), 409, "product_retired")
    assert recorded(embedded) == before
    assert ok(client.post(f"/v1/products/{seat}/reactivate"))["status"] == "active"
    refused(client.post(f"/v1/products/{seat}/reactivate"), 409, "product_active")
    ok(client.patch(f"/v1/products/{seat}", json={"name": "CRM seat, annual"}))
    project(embedded)
    product = ok(client.get(f"/v1/products/{seat}"))
    assert (product["code"], product["name"], product["status"]) == ("SEAT", "CRM seat, annual", "active")
    assert [(p["name"], p["unit_price"]) for p in product["prices"]] == [("Standard", "100.00")]
    listed = ok(client.get("/v1/price-lists", params={"currency": "eur", "valid_on": "2026-06-01"}))
    assert [p["code"] for p in listed["items"][0]["prices"]] == ["SEAT", "SETUP"]
    refused(client.delete(f"/v1/price-lists/{catalog['prices']}/prices/{UUID(int=7)}"), 409, "no_price")
    refused(client.get(f"/v1/products/{UUID(int=7)}"), 404, "not_found")


# -- quotes --------------------------------------------------------------------------------


def test_a_sent_quote_is_never_edited_and_its_revision_is(embedded, client, catalog):
    quote = draft(client, catalog, new_deal(client))
    line = ok(client.post(f"/v1/quotes/{quote}/lines", json={"product_id": catalog["seat"], "quantity": 3}), 201)
    assert (line["total"], line["currency"]) == ("300.00", "EUR")
    refused(
        client.post(
            f"/v1/quotes/{quote}/lines",
            json={"product_id": catalog["seat"], "quantity": 1},
            headers={"If-Match": '"1"'},
        ),
        409,
        "concurrency_conflict",
    )
    sent = ok(client.post(f"/v1/quotes/{quote}/send"))
    assert (sent["status"], sent["total"]) == ("sent", "300.00")

    before = recorded(embedded)
    refused(
        client.post(f"/v1/quotes/{quote}/lines", json={"product_id": catalog["setup"], "quantity": 1}),
        409,
        "quote_not_draft",
    )
    refused(client.delete(f"/v1/quotes/{quote}/lines/{line['line_id']}"), 409, "quote_not_draft")
    refused(client.put(f"/v1/quotes/{quote}/validity", json={"valid_until": soon(60)}), 409, "quote_not_draft")
    refused(client.post(f"/v1/quotes/{quote}/send"), 409, "quote_not_draft")
    refused(client.post(f"/v1/quotes/{quote}/reject", json={"reason": " "}), 409, "reject_reason_required")
    assert recorded(embedded) == before

    revised = ok(client.post(f"/v1/quotes/{quote}/revise"))
    assert (revised["status"], revised["revision"], revised["number"]) == ("draft", 2, "Q-2026-0042-2")
    ok(client.delete(f"/v1/quotes/{quote}/lines/{line['line_id']}"))
    ok(client.post(f"/v1/quotes/{quote}/lines", json={"product_id": catalog["setup"], "quantity": 1}), 201)
    ok(client.post(f"/v1/quotes/{quote}/send"))
    assert ok(client.post(f"/v1/quotes/{quote}/reject", json={"reason": "too dear"}))["status"] == "rejected"
    project(embedded)
    shown = ok(client.get(f"/v1/quotes/{quote}"))
    assert (shown["document_number"], shown["status"], shown["reject_reason"]) == (
        "Q-2026-0042-2",
        "rejected",
        "too dear",
    )
    assert [(line["code"], line["total"]) for line in shown["lines"]] == [("SETUP", "800.00")]
    refused(client.post(f"/v1/quotes/{UUID(int=9)}/send"), 404, "not_found")


def test_a_discount_above_the_lines_price_is_refused(embedded, client, catalog):
    quote = draft(client, catalog, new_deal(client))
    before = recorded(embedded)
    too_much = {"product_id": catalog["seat"], "quantity": 2, "discount": "200.01"}
    refused(client.post(f"/v1/quotes/{quote}/lines", json=too_much), 409, "discount_above_price")
    refused(client.post(f"/v1/quotes/{quote}/lines", json={**too_much, "discount": "1.001"}), 422, "validation_error")
    refused(client.post(f"/v1/quotes/{quote}/lines", json={**too_much, "quantity": 0}), 422, "validation_error")
    assert recorded(embedded) == before
    line = ok(client.post(f"/v1/quotes/{quote}/lines", json={**too_much, "discount": "200", "tax_rate": 20}), 201)
    assert line["total"] == "0.00"  # the whole line's price off: allowed, and nothing left to tax


def test_the_quote_document_is_its_sent_revision_as_html_or_pdf(embedded, client, catalog):
    contact = new_contact(client, "Zoë Brontë")
    quote = draft(client, catalog, new_deal(client, contact))
    refused(client.get(f"/v1/quotes/{quote}/document"), 409, "quote_not_sent")
    line = {"product_id": catalog["seat"], "quantity": 12, "discount": "50", "tax_rate": 20}
    ok(client.post(f"/v1/quotes/{quote}/lines", json=line), 201)
    ok(client.post(f"/v1/quotes/{quote}/send"))
    project(embedded)

    pdf = client.get(f"/v1/quotes/{quote}/document", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages))
    # 12 × 100.00 = 1,200.00 − 50.00 = 1,150.00, + 20 % = 1,380.00
    for expected in ("Quote Q-2026-0042-1", "Zoë Brontë", "CRM seat", "Total (EUR) 1,380.00", "From ana"):
        assert expected in text, expected
    by_accept = client.get(f"/v1/quotes/{quote}/document", headers={"Accept": "application/pdf"})
    assert by_accept.content == pdf.content  # the same revision, the same document
    html = client.get(f"/v1/quotes/{quote}/document", headers={"Accept": "text/html,application/pdf;q=0.5"})
    assert html.headers["content-type"].startswith("text/html") and "1,380.00" in html.text
    refused(client.get(f"/v1/quotes/{quote}/document", headers={"Accept": "application/json"}), 406, "not_acceptable")

    # The live quote moves on; revision 1's document stays what the customer was sent.
    ok(client.post(f"/v1/quotes/{quote}/revise"))
    ok(client.post(f"/v1/quotes/{quote}/lines", json={"product_id": catalog["setup"], "quantity": 1}), 201)
    again = client.get(f"/v1/quotes/{quote}/document", params={"format": "pdf", "revision": 1})
    assert again.content == pdf.content
    refused(client.get(f"/v1/quotes/{quote}/document", params={"revision": 2}), 404, "not_found")
    refused(client.get(f"/v1/quotes/{UUID(int=5)}/document"), 404, "not_found")
    routes = {entry.route for entry in embedded.access_trail.entries(UUID(contact))}
    assert "GET /v1/quotes/{quote_id}/document" in routes  # the customer's name was shown


# -- orders --------------------------------------------------------------------------------


def test_an_order_is_placed_only_at_the_quoted_prices_and_the_deal_amount_follows(embedded, client, catalog):
    deal = new_deal(client)
    quote = accepted_quote(client, catalog, deal)
    quoted = [
        {"product_id": catalog["seat"], "quantity": "2", "unit_price": "100", "discount": "10.00", "tax_rate": "20"},
        {"product_id": catalog["setup"], "quantity": "1.5", "unit_price": "800.00"},
    ]
    cheaper = [{**quoted[0], "unit_price": "90"}, quoted[1]]
    before = recorded(embedded)
    refused(client.post("/v1/orders", json={"quote_id": quote, "lines": cheaper}), 409, "price_not_quoted")
    refused(client.post("/v1/orders", json={"quote_id": quote, "lines": quoted[:1]}), 409, "price_not_quoted")
    assert recorded(embedded) == before

    headers = {"Idempotency-Key": "po-4711"}
    order = ok(client.post("/v1/orders", json={"quote_id": quote, "lines": quoted}, headers=headers), 201)
    assert (order["status"], order["total"], order["deal_amount"]) == ("confirmed", "1428.00", "1428.00")
    count = recorded(embedded)
    again = client.post("/v1/orders", json={"quote_id": quote, "lines": quoted}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    # The replay's position is its transaction's last event (the deal's), not the order's.
    assert {**again.json(), "position": None} == {**order, "position": None}
    assert recorded(embedded) == count
    refused(client.post("/v1/orders", json={"quote_id": quote}), 409, "quote_ordered")

    project(embedded)
    assert ok(client.get(f"/v1/deals/{deal}"))["amount"] == "1428.00"
    refused(client.patch(f"/v1/deals/{deal}", json={"amount": "999"}), 409, "amount_follows_orders")
    assert recorded(embedded) == count
    listed = ok(client.get("/v1/orders", params={"deal_id": deal}))["items"]
    assert [(o["id"], o["quote_number"], o["totals"]["total"]) for o in listed] == [
        (order["id"], "Q-2026-0042-1", "1428.00")
    ]
    assert ok(client.get(f"/v1/quotes/{quote}"))["order_id"] == order["id"]

    refused(client.post(f"/v1/orders/{order['id']}/cancel", json={}), 409, "cancel_reason_required")
    cancelled = ok(client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "budget frozen"}))
    assert cancelled["status"] == "cancelled" and cancelled["deal_amount"] in ("0", "0.00")
    refused(client.post(f"/v1/orders/{order['id']}/fulfil"), 409, "order_closed")
    refused(client.post(f"/v1/orders/{UUID(int=3)}/fulfil"), 404, "not_found")


def test_only_an_accepted_quote_becomes_an_order(embedded, client, catalog):
    quote = draft(client, catalog, new_deal(client))
    ok(client.post(f"/v1/quotes/{quote}/lines", json={"product_id": catalog["seat"], "quantity": 1}), 201)
    ok(client.post(f"/v1/quotes/{quote}/send"))
    before = recorded(embedded)
    refused(client.post("/v1/orders", json={"quote_id": quote}), 409, "quote_not_accepted")
    assert recorded(embedded) == before


# -- contracts -----------------------------------------------------------------------------


def test_a_contract_is_ended_once(embedded, client):
    contact = new_contact(client)
    body = {
        "title": "Support 2026",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "value": "12000",
        "contact_id": contact,
        "renewal_days": 60,
    }
    signed = ok(client.post("/v1/contracts", json=body), 201)
    assert (signed["status"], signed["renewal_due_on"]) == ("active", "2026-11-01")
    cid = signed["id"]
    refused(client.post("/v1/contracts", json={**body, "account_id": str(UUID(int=1))}), 422, "validation_error")
    amended = ok(client.post(f"/v1/contracts/{cid}/amend", json={"reason": "more seats", "value": "15000"}))
    assert amended["version"] == 2
    before = recorded(embedded)
    refused(client.post(f"/v1/contracts/{cid}/terminate", json={}), 409, "termination_reason_required")
    assert recorded(embedded) == before
    ended = ok(client.post(f"/v1/contracts/{cid}/terminate", json={"reason": "company closed"}))
    assert ended["status"] == "terminated"

    before = recorded(embedded)
    refused(client.post(f"/v1/contracts/{cid}/terminate", json={"reason": "again"}), 409, "contract_ended")
    refused(
        client.post(f"/v1/contracts/{cid}/renew", json={"ends_on": "2027-12-31", "value": "1"}), 409, "contract_ended"
    )
    refused(client.post(f"/v1/contracts/{cid}/amend", json={"reason": "x", "title": "y"}), 409, "contract_ended")
    assert recorded(embedded) == before

    project(embedded)
    shown = ok(client.get(f"/v1/contracts/{cid}"))
    assert (shown["status"], shown["value"], shown["end_reason"], shown["contact_name"]) == (
        "terminated",
        "15000",
        "company closed",
        "Ada Lovelace",
    )
    assert [c["id"] for c in ok(client.get("/v1/contracts", params={"contact_id": contact}))["items"]] == [cid]


def test_contracts_due_for_renewal_are_listed_earliest_first(embedded, client):
    contact = new_contact(client)

    def sign(title: str, ends_on: str, days: int) -> str:
        body = {"title": title, "starts_on": "2026-01-01", "ends_on": ends_on, "value": "100", "contact_id": contact}
        return ok(client.post("/v1/contracts", json={**body, "renewal_days": days}), 201)["id"]

    late = sign("Late", "2027-03-31", 30)  # due 2027-03-01
    early = sign("Early", "2027-01-31", 60)  # due 2027-12-02
    sign("Far", "2028-12-31", 30)
    renewed = sign("Renewed", "2027-01-31", 90)
    ok(client.post(f"/v1/contracts/{renewed}/renew", json={"ends_on": "2028-01-31", "value": "120"}))
    project(embedded)
    due = ok(client.get("/v1/contracts/due-for-renewal", params={"on": "2027-03-15"}))
    assert [c["id"] for c in due["items"]] == [early, late]


# -- activities ----------------------------------------------------------------------------


def schedule(client, regarding: tuple[str, str], due: datetime, subject: str = "Call back", owner: str = "ana") -> str:
    body = {
        "kind": "call",
        "subject": subject,
        "regarding_type": regarding[0],
        "regarding_id": regarding[1],
        "owner": owner,
        "due_at": due.isoformat(),
        "reminders": [60, 15],
    }
    return ok(client.post("/v1/activities", json=body), 201)["id"]


def test_an_activity_is_completed_once(embedded, client):
    activity = schedule(client, ("contact", new_contact(client)), datetime.now(UTC) + timedelta(days=1))
    done = ok(client.post(f"/v1/activities/{activity}/complete", json={"outcome": "agreed a demo"}))
    assert done["status"] == "done"
    before = recorded(embedded)
    refused(client.post(f"/v1/activities/{activity}/complete", json={}), 409, "activity_closed")
    refused(client.post(f"/v1/activities/{activity}/cancel", json={"reason": "x"}), 409, "activity_closed")
    refused(
        client.post(f"/v1/activities/{activity}/reschedule", json={"due_at": datetime.now(UTC).isoformat()}),
        409,
        "activity_closed",
    )
    refused(client.post(f"/v1/activities/{UUID(int=4)}/complete", json={}), 404, "not_found")
    refused(
        client.post(
            "/v1/activities",
            json={
                "kind": "call",
                "subject": "x",
                "regarding_type": "deal",
                "regarding_id": str(UUID(int=4)),
                "owner": "ana",
                "due_at": "2026-01-01T10:00:00Z",
            },
        ),
        404,
        "not_found",
    )
    assert recorded(embedded) == before


def test_an_owners_activities_come_overdue_first_then_by_due_time(embedded, client):
    now = datetime.now(UTC)
    deal = new_deal(client)
    later = schedule(client, ("deal", deal), now + timedelta(days=2), "Send the contract")
    next_ = schedule(client, ("deal", deal), now + timedelta(hours=3), "Check the figures")
    late = schedule(client, ("contact", new_contact(client)), now - timedelta(hours=1), "Call back")
    done = schedule(client, ("deal", deal), now - timedelta(days=1), "Book the room")
    schedule(client, ("deal", deal), now - timedelta(days=3), "Someone else's", owner="ben")
    ok(client.post(f"/v1/activities/{done}/complete", json={}))
    embedded.commands.execute(MarkActivityOverdue(UUID(late)), Meta("deadline-watch", "w", "w"))
    project(embedded)

    mine = ok(client.get("/v1/activities", params={"owner": "ana"}))
    assert [a["id"] for a in mine["items"]] == [late, next_, later, done]
    assert [a["overdue"] for a in mine["items"]] == [True, False, False, False]
    assert [a["id"] for a in ok(client.get("/v1/activities", params={"owner": "ana", "status": "open"}))["items"]] == [
        late,
        next_,
        later,
    ]
    about_deal = ok(client.get("/v1/activities", params={"regarding_type": "deal", "regarding_id": deal}))
    assert about_deal["total"] == 4
    assert ok(client.get(f"/v1/activities/{late}"))["reminders"] == [60, 15]


# -- agents and skills ---------------------------------------------------------------------


def test_a_case_goes_only_to_an_agent_with_its_skill(embedded, client):
    ok(client.put("/v1/agents/sam", json={"skills": ["Billing", "de"], "capacity": 2}))
    ok(client.put("/v1/agents/kim", json={"skills": ["api"]}))
    contact = new_contact(client)
    case = ok(
        client.post("/v1/cases", json={"contact_id": contact, "subject": "Invoice twice", "skill": "billing"}), 201
    )
    cid = case["id"]

    before = recorded(embedded)
    refused(client.post(f"/v1/cases/{cid}/assign", json={"agent": "kim"}), 409, "agent_lacks_skill")
    refused(client.post(f"/v1/cases/{cid}/assign", json={"agent": "nobody-registered"}), 409, "agent_lacks_skill")
    assert recorded(embedded) == before
    assert ok(client.post(f"/v1/cases/{cid}/assign", json={"agent": "sam"}))["status"] == "open"

    other = ok(client.post("/v1/cases", json={"contact_id": contact, "subject": "API timeouts"}), 201)["id"]
    assert ok(client.put(f"/v1/cases/{other}/skill", json={"skill": "API"}))["skill"] == "api"
    refused(client.post(f"/v1/cases/{other}/assign", json={"agent": "sam"}), 409, "agent_lacks_skill")
    ok(client.post(f"/v1/cases/{other}/assign", json={"agent": "kim"}))
    ok(client.put(f"/v1/cases/{other}/skill", json={"skill": None}))

    project(embedded)
    agents = {a["handle"]: a for a in ok(client.get("/v1/agents"))["items"]}
    assert {h: (a["skills"], a["load"], a["free"]) for h, a in agents.items()} == {
        "kim": (["api"], 1, 19),
        "sam": (["billing", "de"], 1, 1),
    }
    assert [a["handle"] for a in ok(client.get("/v1/agents", params={"skill": "DE"}))["items"]] == ["sam"]
    assert ok(client.get(f"/v1/cases/{cid}"))["skill"] == "billing"
    assert [c["id"] for c in ok(client.get("/v1/cases", params={"skill": "billing"}))["items"]] == [cid]
    refused(client.get("/v1/agents/nobody"), 404, "not_found")


def test_an_analyst_reads_activities_and_quote_documents_masked(embedded):
    from commands.access import CreateApiKey

    admin = Meta("admin", "keys", "keys")
    keys = {
        role: embedded.commands.execute(CreateApiKey(f"{role}-key", (role,)), admin).extra["key"]
        for role in ("sales", "analyst")
    }
    client = TestClient(create_app(embedded), headers={"Authorization": f"Bearer {keys['sales']}"})
    catalog = priced_catalog(client)
    contact = new_contact(client, "Zoë Brontë")
    schedule(client, ("contact", contact), datetime.now(UTC) + timedelta(days=1), "Ask Zoë about her move")
    quote = draft(client, catalog, new_deal(client, contact))
    ok(client.post(f"/v1/quotes/{quote}/lines", json={"product_id": catalog["seat"], "quantity": 1}), 201)
    ok(client.post(f"/v1/quotes/{quote}/send"))
    project(embedded)
    assert ok(client.get("/v1/activities"))["items"][0]["subject"] == "Ask Zoë about her move"
    analyst = {"Authorization": f"Bearer {keys['analyst']}"}
    assert ok(client.get("/v1/activities", headers=analyst))["items"][0]["subject"] == "[masked]"
    html = client.get(f"/v1/quotes/{quote}/document", headers=analyst)
    assert html.status_code == 200 and "Q-2026-0042-1" in html.text and "Zoë" not in html.text
    assert "Zoë" in client.get(f"/v1/quotes/{quote}/document").text
