"""The states admin page in Chromium on a 375-px phone: it fits, and a state is renamed and moved up."""

from __future__ import annotations

import pytest

from kernel.browsertesting import browser, live_server, shots, sign_in  # noqa: F401 - fixtures
from kernel.testing import plugin_module
from tests.test_states import SYSTEM, Deal, Plain, Task, board, entities, permissions

pytestmark = pytest.mark.browser
PASSWORD = "s3cret-pass"


@pytest.fixture
def live_site(make_site):
    site = make_site(plugin_module("sttest", register_entities=entities, register_permissions=permissions), default_locale="en")
    for model in (Task, Deal, Plain):
        model.__table__.create(site.engine)
    site.records.create(SYSTEM, "users", {"email": "admin@example.com", "name": "Admin", "password": PASSWORD, "role": "admin"})
    board(site, 1, "lead", "quote", "won")
    return site


def test_the_states_page_fits_a_phone_and_renames_and_reorders(browser, live_site, live_server, shots):  # noqa: F811
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server, "admin@example.com", PASSWORD)
    page.goto(live_server + "/admin/states/sttest_deals?set=1")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the states page is {overflow}px wider than the phone"
    row = page.locator("#state-quote")
    row.get_by_label("Label (English)").fill("Quotation")
    row.get_by_role("button", name="Save").click()
    page.locator("#state-quote").get_by_role("button", name="Up").click()
    page.wait_for_selector("text=States saved.")
    shots(page, "admin-states")
    assert [(s.key, s.label["en"]) for s in live_site.states.definitions("sttest_deals", 1)] == [
        ("quote", "Quotation"), ("lead", "Lead"), ("won", "Won")
    ]
    context.close()
