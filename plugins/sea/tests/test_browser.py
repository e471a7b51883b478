"""The sea in Chromium on a phone (375 px), signed in as a sales rep: claim from the sea's list (contact
details masked until then), then release with a reason from the list.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/sea``.
"""

from __future__ import annotations

import pytest

from kernel.testing import (  # noqa: F401 - fixtures
    PHONE, TEST_PASSWORD, assert_no_sideways_scroll, browser, follow_menu_link, live_server, new_page, shots, sign_in,
)
from .conftest import MASKED, SYSTEM, make_customers
from .support import required_plugins

pytestmark = pytest.mark.browser


@pytest.fixture
def live_site(make_site):
    site = make_site(*required_plugins(), default_locale="en")
    rep = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep", "password": TEST_PASSWORD})
    sea = site.records.create(SYSTEM, "seas", {"name": "East sea", "member_ids": [rep["id"]], "claim_limit": 5, "followup_days": 15,
                                               "cooldown_days": 7, "masked_fields": MASKED})
    make_customers(site, sea["id"], 2)
    site.sea, site.rep = sea, rep  # type: ignore[attr-defined]
    return site


def test_a_rep_claims_from_the_sea_and_releases_with_a_reason_on_a_phone(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    site = live_site
    page = sign_in(new_page(browser, PHONE), live_server, "rep@example.com", TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    follow_menu_link(page, "Public sea")
    row = page.locator("table.pools-list tbody tr", has_text="East sea")
    expect(row.locator(".pool-waiting")).to_have_text("2")
    assert_no_sideways_scroll(page)
    row.get_by_role("link", name="Open").click()
    records = page.locator("#pool-records tbody tr")
    expect(records).to_have_count(2)
    expect(records.first.locator(".masked").first).to_be_visible()
    assert "+862160000000" not in page.content() and "c0@example.com" not in page.content()
    assert_no_sideways_scroll(page)
    shots(page, "01-sea")
    page.get_by_role("button", name="Claim 客户 0").click()
    expect(page.get_by_role("status")).to_contain_text("Claimed.")
    expect(records).to_have_count(1)
    customer = next(c for c in site.records.list(SYSTEM, "customers").items if c["name"] == "客户 0")
    assert customer["owner_id"] == site.rep["id"]

    page.goto(f"{live_server}/p/pools/holdings")
    page.locator("#holdings").get_by_role("link", name="Release").click()
    expect(page.get_by_role("heading", name="Release to its pool")).to_be_visible()
    assert_no_sideways_scroll(page)
    page.get_by_label("Reason").select_option(label="Cannot be reached")
    shots(page, "02-release")
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_role("heading", name="My holdings")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Released")
    assert site.records.get(SYSTEM, "customers", customer["id"])["owner_id"] is None
    assert page.errors == []
