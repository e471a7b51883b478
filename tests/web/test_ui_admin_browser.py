"""The admin pages in Chromium: the live form preview follows typing (htmx), and pages fit a 375-px phone."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.browsertesting import browser, live_server, shots, sign_in  # noqa: F401 - fixtures
from tests.example import plugin as notes_plugin

pytestmark = pytest.mark.browser
PASSWORD = "s3cret-pass"
PAGES = ("/admin/users", "/admin/teams", "/admin/roles/sales_rep", "/admin/record-rules", "/admin/audit", "/admin/settings", "/admin/fields/notes")


@pytest.fixture
def live_site(make_site):
    site = make_site(notes_plugin, default_locale="en")
    system = Actor.system("cli")
    site.records.create(system, "users", {"email": "admin@example.com", "name": "Admin", "password": PASSWORD, "role": "admin"})
    team = site.records.create(system, "teams", {"name": "Sales"})
    site.records.create(system, "teams", {"name": "North", "parent_id": team["id"]})
    return site


def test_the_form_preview_follows_the_field_being_typed(browser, live_site, live_server, shots):  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server, "admin@example.com", PASSWORD)
    page.goto(live_server + "/admin/fields/notes")
    page.locator("#cf-name").fill("mood")
    page.locator("#cf-label_en").fill("Mood today")
    page.locator("#cf-kind").select_option("enum")
    page.locator("#cf-options").fill("happy, sad")
    preview = page.locator("#form-preview")
    expect(preview.get_by_label("Mood today")).to_be_disabled()
    expect(preview.locator("#f-custom-mood option[value='sad']")).to_have_count(1)
    shots(page, "fields-preview")
    assert page.url.endswith("/admin/fields/notes") and "mood" not in live_site.refresh().fields("notes")  # nothing saved
    context.close()


def test_admin_pages_fit_a_phone(browser, live_server, shots):  # noqa: F811
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server, "admin@example.com", PASSWORD)
    for path in PAGES:
        page.goto(live_server + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        shots(page, path.strip("/").replace("/", "-"))
    context.close()
