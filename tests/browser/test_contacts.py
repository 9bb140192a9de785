"""Contacts in a real browser: search as you type finds what the API recorded, a contact's
page shows its timeline newest first with who and why, new events appear without a reload,
a refused command shows the rule, an unknown contact is a 404 page, and a phone gets a
layout that fits."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import PHONE


def unique(word: str) -> str:
    return f"{word}{uuid.uuid4().hex[:8]}"


def test_search_as_you_type_finds_a_contact_created_through_the_api(server, page, shoot):
    # Names no other test uses (they share the server); the tag is this run's own.
    tag = unique("navy")
    found = server.api(
        "POST", "/v1/contacts", json={"name": "Grace Hopper", "email": "grace@navy.example", "tags": [tag, "admiral"]}
    )
    other = server.api(
        "POST", "/v1/contacts", json={"name": "Alan Hopper", "email": "alan@navy.example", "tags": [tag]}
    )
    server.projected(found["id"])
    server.projected(other["id"])

    page.goto(f"{server.base}/app/contacts")
    page.get_by_label("Name", exact=True).press_sequentially("grace hop", delay=10)
    expect(page.locator("#result-count")).to_have_text("1 contact")  # Alan has the surname only
    expect(page.locator("#results tbody tr")).to_contain_text("grace@navy.example")
    expect(page).to_have_url(re.compile(r"/app/contacts\?q=grace\+hop$"))  # the address bar follows

    page.get_by_label("Name", exact=True).fill("")
    page.get_by_label("Tag", exact=True).fill(tag)
    expect(page.locator("#result-count")).to_have_text("2 contacts")
    page.get_by_label("Lead score from").fill("1")  # both are at 0
    expect(page.locator("#result-count")).to_have_text("0 contacts")
    page.get_by_label("Lead score from").fill("")
    expect(page.locator("#result-count")).to_have_text("2 contacts")
    shoot(page, "contacts")

    page.get_by_role("link", name="Grace Hopper").click()
    page.get_by_role("heading", name="Grace Hopper").wait_for()


def test_a_contacts_page_shows_its_details_and_timeline_newest_first_with_actor_and_cause(server, page, shoot):
    contact = server.api(
        "POST",
        "/v1/contacts",
        json={
            "name": "Ada Lovelace",
            "email": "ada@analytical.example",
            "company": "Analytical Engines Ltd",
            "title": "Chief Mathematician",
            "owner": "ana",
            "tags": ["vip", "engineering"],
        },
    )
    cid = contact["id"]
    server.api("POST", f"/v1/contacts/{cid}/interactions", json={"type": "email_opened"})
    server.api("POST", f"/v1/contacts/{cid}/interactions", json={"type": "content_downloaded"})
    server.api("POST", f"/v1/contacts/{cid}/lifecycle", json={"stage": "lead"})
    server.projected(cid, version=4)

    page.goto(f"{server.base}/app/contacts/{cid}")
    assert page.locator("#lead-score").inner_text() == "50"  # 10 + 40 by the default scoring rules
    assert page.locator("#lifecycle-stage").inner_text() == "lead"
    assert page.locator("#contact-email").inner_text() == "ada@analytical.example"
    items = page.locator("#timeline li")
    assert items.count() == 4
    summaries = [items.nth(i).locator("strong").inner_text() for i in range(4)]
    assert [items.nth(i).get_attribute("data-type") for i in range(4)] == [
        "crm.contact.lifecycle_stage_changed.v1",
        "crm.contact.interaction_recorded.v1",
        "crm.contact.interaction_recorded.v1",
        "crm.contact.created.v1",
    ], summaries
    assert set(items.locator(".actor").all_inner_texts()) == {"api-client"}
    assert items.locator(".why code").count() >= 4  # every event names its cause
    shoot(page, "contact")


def test_new_events_appear_on_an_open_contact_page_without_a_reload(server, page):
    contact = server.api("POST", "/v1/contacts", json={"name": unique("Live")})
    cid = contact["id"]
    server.projected(cid)
    page.goto(f"{server.base}/app/contacts/{cid}")
    assert page.locator("#timeline li").count() == 1
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    server.api("POST", f"/v1/contacts/{cid}/interactions", json={"type": "page_visited"})
    page.locator("#lead-score", has_text="20").wait_for(timeout=10_000)
    assert page.locator("#timeline li").count() == 2
    assert page.evaluate("window.loadedOnce") is True


def test_a_command_from_the_page_records_and_a_refused_one_shows_the_rule(server, page, watch):
    watch.allow("status of 409")
    contact = server.api("POST", "/v1/contacts", json={"name": unique("Stage")})
    cid = contact["id"]
    server.projected(cid)
    page.goto(f"{server.base}/app/contacts/{cid}")

    page.get_by_label("Lifecycle stage").select_option("customer")
    page.get_by_role("button", name="Change stage").click()
    page.locator("#lifecycle-stage", has_text="customer").wait_for()

    page.get_by_label("Lifecycle stage").select_option("lead")  # backwards along the funnel
    page.get_by_role("button", name="Change stage").click()
    alert = page.locator("#alerts .problem")
    alert.wait_for()
    assert alert.get_attribute("data-code") == "invalid_lifecycle_transition"
    assert "cannot go from customer to lead" in alert.inner_text()
    assert page.locator("#lifecycle-stage").inner_text() == "customer"
    history = server.api("GET", f"/v1/audit/contacts/{cid}/history")
    assert [e["type"] for e in history][-1] == "crm.contact.lifecycle_stage_changed.v1" and len(history) == 2


def test_bad_search_input_shows_the_reason_beside_the_form(server, page, watch):
    watch.allow("status of 422")
    page.goto(f"{server.base}/app/contacts")
    page.get_by_label("Lead score from").fill("50")
    page.get_by_label("Lead score to").fill("10")
    alert = page.locator("#alerts .problem")
    alert.wait_for()
    assert "min score 50 is above max score 10" in alert.inner_text()


def test_an_unknown_contact_is_a_404_page(server, page, watch):
    watch.allow("status of 404")
    answer = page.goto(f"{server.base}/app/contacts/{uuid.uuid4()}")
    assert answer is not None and answer.status == 404
    page.get_by_role("heading", name="Not found").wait_for()


def test_a_phone_gets_a_layout_that_fits_its_width(server, new_page, shoot):
    contact = server.api(
        "POST",
        "/v1/contacts",
        json={"name": "Katherine Johnson", "email": "katherine@orbit.example", "company": "Langley", "tags": ["nasa"]},
    )
    server.api("POST", f"/v1/contacts/{contact['id']}/interactions", json={"type": "meeting"})
    server.projected(contact["id"], version=2)
    page = new_page(viewport=PHONE)
    page.goto(f"{server.base}/app/contacts/{contact['id']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "contact-phone")
