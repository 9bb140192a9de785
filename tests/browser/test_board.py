"""The deals board in a real browser: columns with counts, amounts and weighted amounts; a
move by the card's form changes the deal's stage in the read model the API serves; a move
the rules forbid (a win without an amount, a closed deal) shows the rule's message and
changes nothing; a deal created elsewhere appears without a reload; a phone gets one
column under another."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.scripted import scripted  # noqa: F401  # the program the case and dashboard tests share


def deal_read(server: LiveServer, deal_id: str, version: int = 1, within: float = 10.0) -> dict[str, Any]:
    """The deal as the API reads it, once the read model holds ``version``."""
    deadline = time.monotonic() + within
    while True:
        answer = httpx.get(f"{server.base}/v1/deals/{deal_id}", headers={"X-Actor": "api-client"}, timeout=5)
        if answer.status_code == 200 and answer.json()["version"] >= version:
            return dict(answer.json())
        assert time.monotonic() < deadline, f"deal {deal_id} v{version} not in the read model within {within}s"
        time.sleep(0.1)


def a_pipeline_with_deals(server: LiveServer) -> dict[str, Any]:
    name = f"Board {uuid.uuid4().hex[:6]}"
    contact = server.api("POST", "/v1/contacts", json={"name": f"Buyer {name}"})
    pipeline = server.api(
        "POST",
        "/v1/pipelines",
        json={
            "name": name,
            "stages": [
                {"key": "qualify", "name": "Qualify", "probability": 0.1},
                {"key": "proposal", "name": "Proposal", "probability": 0.5},
            ],
        },
    )

    def deal(title: str, amount: str | None) -> str:
        body = {"pipeline_id": pipeline["id"], "title": title, "contact_id": contact["id"], "owner": "ana"}
        if amount is not None:
            body["amount"] = amount
        return str(server.api("POST", "/v1/deals", json=body)["id"])

    deals = {"mover": deal("Mover", "1000.00"), "unpriced": deal("Unpriced", None), "won": deal("Won already", "300")}
    server.api("POST", f"/v1/deals/{deals['won']}/win", json={"amount": "300", "closed_on": "2026-01-15"})
    for key, version in (("mover", 1), ("unpriced", 1), ("won", 2)):
        deal_read(server, deals[key], version)
    return {"pipeline": pipeline["id"], "name": name, "contact": contact["id"], **deals}


def column(page: Any, stage: str) -> Any:
    return page.locator(f"#board .column[data-stage='{stage}']")


def test_a_move_on_the_board_changes_the_stage_and_forbidden_moves_show_the_rule(scripted, page, shoot, watch):  # noqa: F811
    watch.allow("status of 409")  # the refused moves: Chromium logs every 4xx answer
    server = scripted.server
    made = a_pipeline_with_deals(server)
    page.goto(f"{server.base}/app/board?pipeline={made['pipeline']}")
    page.get_by_role("heading", name=made["name"]).wait_for()
    page.evaluate("() => { window.notReloaded = true; }")
    assert column(page, "qualify").locator(".count").inner_text() == "2"
    assert column(page, "qualify").locator(".amount").inner_text() == "1,000.00"
    assert column(page, "qualify").locator(".weighted").inner_text() == "100.00"  # 1000 × 10%
    assert column(page, "won").locator(".count").inner_text() == "1"

    # A keyboard user's move: the card's own labelled select and button.
    card = page.locator(f"#deal-{made['mover']}")
    card.get_by_label("Move to").select_option("proposal")
    card.get_by_role("button", name="Move").click()
    column(page, "proposal").locator(f"#deal-{made['mover']}").wait_for()
    assert column(page, "proposal").locator(".count").inner_text() == "1"
    assert column(page, "proposal").locator(".weighted").inner_text() == "500.00"
    assert column(page, "qualify").locator(".count").inner_text() == "1"
    assert "Mover moved to Proposal" in page.locator("#alerts").inner_text()
    moved = deal_read(server, made["mover"], version=2)
    assert (moved["stage"], moved["status"]) == ("proposal", "open")

    # A win needs an amount: refused, with the rule's message; the deal stays where it was.
    card = page.locator(f"#deal-{made['unpriced']}")
    card.get_by_label("Move to").select_option("won")
    card.get_by_role("button", name="Move").click()
    refusal = page.locator("#alerts .problem[data-code='win_requires_amount']")
    refusal.wait_for()
    assert "needs an amount" in refusal.inner_text()
    assert column(page, "qualify").locator(f"#deal-{made['unpriced']}").count() == 1
    unpriced = deal_read(server, made["unpriced"])
    assert (unpriced["stage"], unpriced["status"], unpriced["version"]) == ("qualify", "open", 1)

    # A closed deal changes only by a reopen.
    card = page.locator(f"#deal-{made['won']}")
    card.get_by_label("Move to").select_option("qualify")
    card.get_by_role("button", name="Move").click()
    page.locator("#alerts .problem[data-code='deal_closed']").wait_for()
    assert "reopen it first" in page.locator("#alerts").inner_text()
    won = deal_read(server, made["won"])
    assert (won["stage"], won["version"]) == ("won", 2)

    # Live: a deal another client creates appears without a reload.
    late = server.api(
        "POST",
        "/v1/deals",
        json={"pipeline_id": made["pipeline"], "title": "Arrived live", "contact_id": made["contact"]},
    )
    column(page, "qualify").locator(f"#deal-{late['id']}").wait_for(timeout=8_000)
    assert column(page, "qualify").locator(".count").inner_text() == "2"  # unpriced and the new one
    assert page.evaluate("() => window.notReloaded === true")  # swapped in, not reloaded
    # Last: a full-page screenshot leaves empty style attributes that a later swap would copy.
    shoot(page, "board")


def test_the_board_stacks_its_columns_on_a_phone(scripted, new_page, shoot):  # noqa: F811
    page = new_page(viewport=PHONE)
    page.goto(f"{scripted.server.base}/app/board?pipeline={scripted.month.ids['p1']}")
    first, second = column(page, "qualify").bounding_box(), column(page, "proposal").bounding_box()
    assert second["y"] > first["y"] + first["height"] - 1  # under, not beside
    assert first["width"] <= PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "board-phone")
