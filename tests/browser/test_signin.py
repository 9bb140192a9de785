"""Sign-in once keys exist: every page needs it, a wrong key is refused, each role sees only
its sections (an analyst's personal fields masked, as the API masks them), and signing out
ends the session."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_pages_need_a_key_and_a_wrong_one_is_refused(keyed, page, shoot, watch):
    watch.allow("status of 401")
    base = keyed.server.base
    page.goto(f"{base}/app/contacts")
    expect(page).to_have_url(f"{base}/app/signin?next=/app/contacts")
    shoot(page, "signin")

    page.get_by_label("API key").fill(keyed.keys["sales"] + "x")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".problem")).to_contain_text("unknown or revoked")
    assert not [c for c in page.context.cookies() if c["name"] == "crm_key"]

    page.get_by_label("API key").fill(keyed.keys["sales"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/app/contacts")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/app/signin")
    page.goto(f"{base}/app/contacts")
    expect(page).to_have_url(f"{base}/app/signin?next=/app/contacts")


def test_a_role_without_audit_permission_does_not_see_the_audit_pages(keyed, page, watch):
    watch.allow("status of 403")
    base = keyed.server.base
    sign_in(page, base, keyed.keys["sales"])
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    answer = page.goto(f"{base}/app/audit")
    assert answer is not None and answer.status == 403
    expect(page.locator(".problem")).to_contain_text("may not audit:read")


def test_an_auditor_sees_the_audit_pages_and_an_analyst_sees_no_personal_field(keyed, new_page):
    base = keyed.server.base
    email = f"{uuid.uuid4().hex[:8]}@private.example"
    contact = keyed.server.api(
        "POST", "/v1/contacts", key=keyed.keys["sales"], json={"name": "Masked Person", "email": email}
    )
    keyed.server.projected(contact["id"], key=keyed.keys["sales"])

    auditor = new_page()
    sign_in(auditor, base, keyed.keys["auditor"])
    auditor.goto(f"{base}/app/audit/contacts/{contact['id']}")
    expect(auditor.locator('#past-state [data-field="email"]')).to_have_text(email)

    analyst = new_page()
    sign_in(analyst, base, keyed.keys["analyst"])
    analyst.goto(f"{base}/app/contacts/{contact['id']}")
    expect(analyst.locator("#contact-email")).to_have_text("[masked]")
    expect(analyst.locator("#contact-name")).to_have_text("[masked]")
    assert email not in analyst.content()
    expect(analyst.get_by_role("navigation", name="Sections").get_by_role("link", name="Audit")).to_have_count(0)


def test_the_watch_catches_console_errors_and_stops_requests_to_other_hosts(server, page, watch):
    """The guards every browser test relies on are not blind."""
    page.goto(f"{server.base}/app/signin")
    page.evaluate("console.error('deliberate')")
    # A script's request to another host: the page's Content-Security-Policy refuses it first.
    page.evaluate("fetch('http://192.0.2.1/beacon').catch(() => null)")  # TEST-NET-1
    # Inline script does not run either.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.ran = 1\">')")
    page.wait_for_timeout(300)
    assert page.evaluate("window.ran") is None
    assert any("deliberate" in error for error in watch.errors)
    assert any("192.0.2.1" in error and "Content Security Policy" in error for error in watch.errors)
    # A navigation elsewhere: stopped in the browser by the test's guard, before it leaves.
    with pytest.raises(PlaywrightError):
        page.goto("http://192.0.2.1/elsewhere")
    assert watch.foreign == ["http://192.0.2.1/elsewhere"]
    watch.errors.clear()
    watch.foreign.clear()
