"""The sea in Chromium on a phone (375 px), signed in as a sales rep: claim from the sea's list (contact
details masked until then), then release with a reason from the list.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/sea``.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel.testing import browser, live_server, shots  # noqa: F401 - fixtures
from .conftest import MASKED, SYSTEM, make_customers
from .support import required_plugins

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-pass"
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def live_site(make_site):
    site = make_site(*required_plugins(), default_locale="en")
    rep = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep", "password": PASSWORD})
    sea = site.records.create(SYSTEM, "seas", {"name": "East sea", "member_ids": [rep["id"]], "claim_limit": 5, "followup_days": 15,
                                               "cooldown_days": 7, "masked_fields": MASKED})
    make_customers(site, sea["id"], 2)
    site.sea, site.rep = sea, rep  # type: ignore[attr-defined]
    return site


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"the page is {width} px wide"


def test_a_rep_claims_from_the_sea_and_releases_with_a_reason_on_a_phone(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    site = live_site
    context = browser.new_context(viewport=PHONE, locale="en-US", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("rep@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    page.locator(".nav-toggle summary").click()
    page.locator(".nav-toggle .nav").get_by_role("link", name="Public sea", exact=True).first.click()
    row = page.locator("table.pools-list tbody tr", has_text="East sea")
    expect(row.locator(".pool-waiting")).to_have_text("2")
    no_sideways_scroll(page)
    row.get_by_role("link", name="Open").click()
    records = page.locator("#pool-records tbody tr")
    expect(records).to_have_count(2)
    expect(records.first.locator(".masked").first).to_be_visible()
    assert "+862160000000" not in page.content() and "c0@example.com" not in page.content()
    no_sideways_scroll(page)
    shots(page, "01-sea")
    page.get_by_role("button", name="Claim 客户 0").click()
    expect(page.get_by_role("status")).to_contain_text("Claimed.")
    expect(records).to_have_count(1)
    customer = next(c for c in site.records.list(SYSTEM, "customers").items if c["name"] == "客户 0")
    assert customer["owner_id"] == site.rep["id"]

    page.goto(f"{live_server}/p/pools/holdings")
    page.locator("#holdings").get_by_role("link", name="Release").click()
    expect(page.get_by_role("heading", name="Release to its pool")).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_label("Reason").select_option(label="Cannot be reached")
    shots(page, "02-release")
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_role("heading", name="My holdings")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Released")
    assert site.records.get(SYSTEM, "customers", customer["id"])["owner_id"] is None
    assert errors == []
