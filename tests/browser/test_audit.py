"""Audit in a real browser: a contact's complete history, the as-of slider showing the
contact as it stood earlier, the integrity check, the DSAR download and the access trail."""

from __future__ import annotations

import json

from playwright.sync_api import expect


def test_the_as_of_slider_shows_the_contact_as_it_stood_then(server, page, shoot):
    contact = server.api("POST", "/v1/contacts", json={"name": "Hedy Lamarr", "email": "hedy@first.example"})
    cid = contact["id"]
    server.api("PATCH", f"/v1/contacts/{cid}", json={"email": "hedy@second.example"})
    server.api("POST", f"/v1/contacts/{cid}/lifecycle", json={"stage": "lead"})

    page.goto(f"{server.base}/app/audit/contacts/{cid}")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(3)
    assert "api-client" in rows.nth(0).inner_text() and "caused by" in rows.nth(0).inner_text()
    state = page.locator("#past-state")
    assert state.locator('[data-field="email"]').inner_text() == "hedy@second.example"
    assert state.locator('[data-field="lifecycle_stage"]').inner_text() == "lead"

    slider = page.get_by_label("Event in the history")
    slider.focus()
    slider.press("Home")  # the keyboard moves it: back to the first event
    expect(state.locator('[data-field="email"]')).to_have_text("hedy@first.example")
    assert state.locator('[data-field="lifecycle_stage"]').inner_text() == "subscriber"
    assert state.locator('[data-field="version"]').inner_text() == "1"
    expect(page.locator("#at-label")).to_have_text("1 of 3")
    slider.press("ArrowRight")
    expect(state.locator('[data-field="email"]')).to_have_text("hedy@second.example")
    assert state.locator('[data-field="lifecycle_stage"]').inner_text() == "subscriber"
    shoot(page, "audit-contact")


def test_the_integrity_check_reports_a_clean_store(server, page, shoot):
    server.api("POST", "/v1/contacts", json={"name": "Verified"})
    page.goto(f"{server.base}/app/audit")
    page.get_by_role("button", name="Verify now").click()
    result = page.locator("#verdict-result")
    expect(result).to_have_attribute("data-clean", "true")
    assert "every link holds" in result.inner_text()
    shoot(page, "audit")


def test_the_dsar_download_and_the_access_trail(server, page):
    contact = server.api("POST", "/v1/contacts", json={"name": "Subject Access", "email": "sar@example.com"})
    cid = contact["id"]
    server.projected(cid)
    page.goto(f"{server.base}/app/signin")
    page.get_by_label("Your name").fill("auditor-ann")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{server.base}/app/contacts/{cid}")  # a read the access trail records
    page.get_by_role("link", name="Audit this contact").click()

    trail = page.locator("#access tbody tr")
    expect(trail.filter(has_text="GET /app/contacts/{contact_id}")).to_have_count(1)
    assert "auditor-ann" in trail.filter(has_text="GET /app/contacts/{contact_id}").inner_text()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download everything held").click()
    document = json.loads(download.value.path().read_text())
    assert document["contact_id"] == cid
    assert document["contact"]["state"]["email"] == "sar@example.com"
