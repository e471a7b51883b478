"""Leads in Chromium on a phone (375 px), signed in as a sales rep: open Lead pools from the menu, claim
a lead (its phone hidden until then), then convert it through the dialog and land on the new customer.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/leads``.
"""

from __future__ import annotations

import pytest

from kernel.testing import (  # noqa: F401 - fixtures
    PHONE, TEST_PASSWORD, assert_no_sideways_scroll, browser, follow_menu_link, live_server, new_page, shots, sign_in,
)

from .conftest import MASKED, SYSTEM, make_leads
from .support import required_plugins

pytestmark = pytest.mark.browser


@pytest.fixture
def live_site(make_site):
    site = make_site(*required_plugins(), default_locale="en")
    rep = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep", "password": TEST_PASSWORD})
    pool = site.records.create(SYSTEM, "lead_pools", {"name": "Shanghai leads", "member_ids": [rep["id"]], "claim_limit": 5,
                                                      "followup_days": 7, "cooldown_days": 3, "masked_fields": MASKED})
    make_leads(site, pool["id"], 2)
    site.pool, site.rep = pool, rep  # type: ignore[attr-defined]
    return site


def test_a_rep_claims_a_lead_from_a_pool_and_converts_it_on_a_phone(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    site = live_site
    page = sign_in(new_page(browser, PHONE), live_server, "rep@example.com", TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    follow_menu_link(page, "Lead pools")
    row = page.locator("table.pools-list tbody tr", has_text="Shanghai leads")
    expect(row.locator(".pool-waiting")).to_have_text("2")
    assert_no_sideways_scroll(page)
    row.get_by_role("link", name="Open").click()
    records = page.locator("#pool-records tbody tr")
    expect(records).to_have_count(2)
    assert "+862160000000" not in page.content()  # the phone is hidden until claimed
    assert_no_sideways_scroll(page)
    shots(page, "01-lead-pool")
    page.get_by_role("button", name="Claim 线索 0").click()
    expect(page.get_by_role("status")).to_contain_text("Claimed.")
    expect(records).to_have_count(1)
    lead = next(item for item in site.records.list(SYSTEM, "leads").items if item["name"] == "线索 0")
    assert (lead["owner_id"], lead["status"]) == (site.rep["id"], "assigned")

    page.goto(f"{live_server}/r/leads/{lead['id']}")
    page.get_by_role("link", name="Convert").first.click()
    expect(page.get_by_role("heading", name="Convert lead")).to_be_visible()
    expect(page.locator("#contact-preview")).to_contain_text("线索 0")
    assert_no_sideways_scroll(page)
    shots(page, "02-convert")
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("heading", name="测试公司0号")).to_be_visible()
    converted = site.records.get(SYSTEM, "leads", lead["id"])
    assert converted["status"] == "converted" and converted["customer_id"] is not None
    assert page.url.endswith(f"/r/customers/{converted['customer_id']}")
    assert_no_sideways_scroll(page)
    assert page.errors == []
