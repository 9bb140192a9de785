"""The case queue in a real browser: breached cases first, then the nearest deadline, with
the time left; an action (assign) runs the API's command and the queue shows it; a reopen
past the window shows the rule's message and changes nothing; a case opened elsewhere
appears without a reload."""

from __future__ import annotations

import re

import httpx

from tests.browser.scripted import Scripted, scripted  # noqa: F401  # the shared program with known cases


def case_read(live: Scripted, name: str) -> dict:
    answer = httpx.get(f"{live.server.base}/v1/cases/{live.cases[name]}", headers={"X-Actor": "t"}, timeout=5)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_queue_puts_breached_cases_first_then_the_nearest_deadline(scripted, page, shoot):  # noqa: F811
    page.goto(f"{scripted.server.base}/app/cases")
    items = page.locator("#queue li.case")
    ids = [items.nth(i).get_attribute("data-case") for i in range(items.count())]
    ours = [ids.index(str(scripted.cases[name])) for name in ("breached", "soon", "later")]
    assert ours == sorted(ours), "breached, then due in 3h, then due in 7h"
    breached_flags = [items.nth(i).locator(".flag").count() == 1 for i in range(len(ids))]
    assert breached_flags == sorted(breached_flags, reverse=True), "every breached case comes before the others"
    assert ids[0] == str(scripted.cases["breached"])  # the only one overdue: it leads

    overdue = page.locator(f"#case-{scripted.cases['breached']} .time-left").inner_text()
    assert re.fullmatch(r"overdue by 2h \d+m", overdue), overdue  # its first response was due 2h ago
    soon = page.locator(f"#case-{scripted.cases['soon']} .time-left").inner_text()
    assert re.fullmatch(r"(2h \d+m|3h 0m) left", soon), soon  # high: 4h from its opening 1h ago
    shoot(page, "cases")


def test_a_case_action_runs_the_command_and_a_refused_one_shows_the_rule(scripted, page, watch):  # noqa: F811
    watch.allow("status of 409")  # the refused reopen: Chromium logs every 4xx answer
    page.goto(f"{scripted.server.base}/app/cases")
    card = page.locator(f"#case-{scripted.cases['soon']}")
    card.get_by_label("Agent").fill("kim")
    card.get_by_role("button", name="Assign").click()
    page.locator(f"#case-{scripted.cases['soon']} .case-meta", has_text="agent kim").wait_for()
    assert "assigned to kim" in page.locator("#alerts").inner_text()
    assigned = case_read(scripted, "soon")
    assert (assigned["agent"], assigned["status"]) == ("kim", "open")

    before = case_read(scripted, "expired")
    page.locator(f"#case-{scripted.cases['expired']}").get_by_role("button", name="Reopen").click()
    refusal = page.locator("#alerts .problem[data-code='reopen_window_expired']")
    refusal.wait_for()
    assert "may be reopened only within" in refusal.inner_text()
    after = case_read(scripted, "expired")
    assert (after["status"], after["version"]) == ("resolved", before["version"])

    # A case opened elsewhere joins the open queue without a reload.
    page.evaluate("() => { window.notReloaded = true; }")
    contact = case_read(scripted, "soon")["contact_id"]
    opened = scripted.server.api("POST", "/v1/cases", json={"contact_id": contact, "subject": "Arrived live"})
    page.locator(f"#case-{opened['id']}").wait_for(timeout=12_000)
    assert page.evaluate("() => window.notReloaded === true")
