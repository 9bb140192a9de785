"""Every aggregate's life through the HTTP API, and the rule codes of DESIGN.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from commands.bus import CommandBus
from commands.case import OpenCase, ReopenCase, ResolveCase
from domain.meta import Meta


@pytest.fixture
def client(embedded) -> TestClient:
    return TestClient(create_app(embedded), headers={"X-Actor": "ana"})


def ok(answer, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    return answer.json()


def refused(answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.text


def recorded(container) -> int:
    return container.store.recorder.max_notification_id() or 0


def new_contact(client, **fields) -> str:
    return ok(client.post("/v1/contacts", json={"name": "Ada", **fields}), 201)["id"]


def new_pipeline(client) -> str:
    body = {
        "name": "New business",
        "stages": [
            {"key": "qualify", "name": "Qualify", "probability": 0.1},
            {"key": "proposal", "name": "Proposal", "probability": 0.5},
            {"key": "negotiate", "name": "Negotiation", "probability": 0.8},
        ],
    }
    return ok(client.post("/v1/pipelines", json=body), 201)["id"]


def test_a_deal_moves_only_through_its_pipeline_and_closes_by_its_rules(embedded, client):
    pipeline, contact = new_pipeline(client), new_contact(client)
    deal = ok(
        client.post(
            "/v1/deals",
            json={
                "pipeline_id": pipeline,
                "title": "50 seats",
                "contact_id": contact,
                "amount": "12000.00",
                "currency": "eur",
            },
        ),
        201,
    )
    assert (deal["stage"], deal["status"], deal["probability"]) == ("qualify", "open", 0.1)
    did = deal["id"]
    refused(client.post(f"/v1/deals/{did}/stage", json={"stage": "closing"}), 409, "unknown_stage")
    assert ok(client.post(f"/v1/deals/{did}/stage", json={"stage": "proposal"}))["probability"] == 0.5
    refused(client.post(f"/v1/deals/{did}/win", json={"closed_on": "2026-11-20"}), 409, "win_requires_amount")
    refused(client.post(f"/v1/deals/{did}/lose", json={"reason": "  "}), 409, "lost_reason_required")
    won = ok(client.post(f"/v1/deals/{did}/win", json={"amount": "11500", "closed_on": "2026-11-20"}))
    assert (won["status"], won["stage"]) == ("won", "won")

    before = recorded(embedded)
    refused(client.post(f"/v1/deals/{did}/stage", json={"stage": "negotiate"}), 409, "deal_closed")
    refused(client.patch(f"/v1/deals/{did}", json={"amount": "1"}), 409, "deal_closed")
    refused(client.post(f"/v1/deals/{did}/lose", json={"reason": "price"}), 409, "deal_closed")
    assert recorded(embedded) == before

    reopened = ok(client.post(f"/v1/deals/{did}/reopen", json={}))
    assert (reopened["status"], reopened["stage"]) == ("open", "proposal")
    assert ok(client.post(f"/v1/deals/{did}/lose", json={"reason": "price"}))["status"] == "lost"


def test_a_deal_needs_exactly_one_party_and_an_existing_pipeline(client):
    pipeline = new_pipeline(client)
    refused(client.post("/v1/deals", json={"pipeline_id": pipeline, "title": "x"}), 422, "validation_error")
    missing = "00000000-0000-0000-0000-0000000000aa"
    refused(
        client.post("/v1/deals", json={"pipeline_id": missing, "title": "x", "contact_id": new_contact(client)}),
        404,
        "not_found",
    )


def test_a_case_lives_from_new_to_closed_and_a_closed_case_never_reopens(embedded, client):
    contact = new_contact(client)
    case = ok(
        client.post("/v1/cases", json={"contact_id": contact, "subject": "Cannot log in", "priority": "high"}), 201
    )
    cid = case["id"]
    assert case["status"] == "new"
    opened = datetime.fromisoformat(case["first_response_due"]) - timedelta(hours=4)
    assert datetime.fromisoformat(case["resolution_due"]) - opened == timedelta(hours=24)
    assert ok(client.post(f"/v1/cases/{cid}/assign", json={"agent": "sam"}))["status"] == "open"
    assert ok(client.post(f"/v1/cases/{cid}/respond", json={}))["status"] == "open"
    assert ok(client.post(f"/v1/cases/{cid}/pending"))["status"] == "pending"
    assert ok(client.post(f"/v1/cases/{cid}/resolve", json={"resolution": "reset password"}))["status"] == "resolved"
    assert ok(client.post(f"/v1/cases/{cid}/reopen"))["status"] == "open"
    assert ok(client.post(f"/v1/cases/{cid}/resolve", json={}))["status"] == "resolved"
    assert ok(client.post(f"/v1/cases/{cid}/close"))["status"] == "closed"
    before = recorded(embedded)
    refused(client.post(f"/v1/cases/{cid}/reopen"), 409, "case_closed")
    refused(client.post(f"/v1/cases/{cid}/assign", json={"agent": "kim"}), 409, "case_closed")
    assert recorded(embedded) == before


def test_reopening_after_the_window_is_refused(embedded):
    meta = Meta("ana", "c", "c")
    client = TestClient(create_app(embedded))
    contact = new_contact(client)
    bus: CommandBus = embedded.commands
    long_ago = datetime.now(UTC) - timedelta(days=30)
    case = bus.execute(OpenCase(contact_id=UUID(contact), subject="Slow", at=long_ago), meta)
    bus.execute(ResolveCase(case.id, at=long_ago + timedelta(days=1)), meta)
    answer = client.post(f"/v1/cases/{case.id}/reopen")
    refused(answer, 409, "reopen_window_expired")
    assert bus.execute(ReopenCase(case.id, at=long_ago + timedelta(days=2)), meta).extra["status"] == "open"


def test_a_merged_contact_is_read_only_and_points_at_the_survivor(client):
    absorbed, survivor = new_contact(client, tags=["webinar"]), new_contact(client, tags=["vip"])
    ok(client.post(f"/v1/contacts/{absorbed}/interactions", json={"type": "content_downloaded"}), 201)
    merged = ok(client.post(f"/v1/contacts/{absorbed}/merge", json={"into": survivor}))
    assert merged["survivor_id"] == survivor
    refused(client.post(f"/v1/contacts/{absorbed}/interactions", json={"type": "call"}), 409, "contact_merged")
    refused(client.post("/v1/cases", json={"contact_id": absorbed, "subject": "x"}), 409, "contact_merged")
    scored = ok(client.post(f"/v1/contacts/{survivor}/interactions", json={"type": "email_opened"}), 201)
    assert scored["lead_score"] == 50  # 40 absorbed + 10


def test_lifecycle_consent_and_account_membership(client):
    contact = new_contact(client)
    assert ok(client.post(f"/v1/contacts/{contact}/lifecycle", json={"stage": "lead"}))["lifecycle_stage"] == "lead"
    refused(
        client.post(f"/v1/contacts/{contact}/lifecycle", json={"stage": "churned"}), 409, "invalid_lifecycle_transition"
    )
    ok(client.patch(f"/v1/contacts/{contact}", json={"consent": {"given": True, "source": "web form"}}))
    account = ok(client.post("/v1/accounts", json={"name": "Analytical Engines", "domain": "Engines.example"}), 201)[
        "id"
    ]
    ok(client.post(f"/v1/accounts/{account}/contacts", json={"contact_id": contact}))
    refused(client.delete(f"/v1/accounts/{account}/contacts/{new_contact(client)}"), 409, "not_a_member")


def test_campaign_response_is_also_an_interaction_carrying_the_campaign_id(embedded, client):
    inside = new_contact(client, tags=["webinar"])
    outside = new_contact(client, tags=["vip"])
    for cid in (inside, outside):
        ok(client.patch(f"/v1/contacts/{cid}", json={"consent": {"given": True, "source": "form"}}))
    campaign = ok(
        client.post(
            "/v1/campaigns", json={"name": "Spring webinar", "channel": "email", "audience": {"tags_any": ["webinar"]}}
        ),
        201,
    )["id"]
    refused(client.post(f"/v1/campaigns/{campaign}/sends", json={"contact_ids": [inside]}), 409, "campaign_not_running")
    ok(client.post(f"/v1/campaigns/{campaign}/launch"))
    sent = ok(client.post(f"/v1/campaigns/{campaign}/sends", json={"contact_ids": [inside, outside]}))
    assert (sent["sent"], sent["skipped"]) == (1, [outside])
    refused(
        client.post(f"/v1/campaigns/{campaign}/responses", json={"contact_id": outside, "response": "opened"}),
        409,
        "not_in_campaign",
    )
    ok(client.post(f"/v1/campaigns/{campaign}/responses", json={"contact_id": inside, "response": "opened"}), 201)
    contact = embedded.store.repository.get(UUID(inside))
    assert contact.lead_score == 10
    [notification] = [
        n
        for n in embedded.store.recorder.select_notifications(start=1, limit=1000)
        if n.topic == "crm.contact.interaction_recorded.v1"
    ]
    event = embedded.store.mapper.to_domain_event(notification)
    assert event.details == {"campaign_id": campaign, "response": "opened"}
    assert event.interaction_type == "email_opened"


def test_a_repeated_command_with_the_same_idempotency_key_returns_the_first_answer(embedded, client):
    headers = {"Idempotency-Key": "create-ada-1"}
    first = client.post("/v1/contacts", json={"name": "Ada"}, headers=headers)
    count = recorded(embedded)
    again = client.post("/v1/contacts", json={"name": "Ada"}, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert recorded(embedded) == count
    cid = first.json()["id"]
    scored = client.post(
        f"/v1/contacts/{cid}/interactions", json={"type": "page_visited"}, headers={"Idempotency-Key": "k2"}
    )
    repeat = client.post(
        f"/v1/contacts/{cid}/interactions", json={"type": "page_visited"}, headers={"Idempotency-Key": "k2"}
    )
    assert repeat.json() == scored.json() and repeat.json()["lead_score"] == 20
    refused(client.post("/v1/contacts", json={"name": "Bob"}, headers=headers), 422, "idempotency_key_reused")
    assert embedded.store.repository.get(UUID(cid)).lead_score == 20
