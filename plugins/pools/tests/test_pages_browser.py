"""The pools pages in Chromium, signed in as a sales rep (not an admin): claim from a pool's list on a
phone (375 px) and on a laptop (1366 px), masked fields, a refusal in words, and my holdings with the
days left and the deadline that applies.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/pools``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kernel.testing import (  # noqa: F401 - fixtures
    PHONE, TEST_PASSWORD, assert_no_sideways_scroll, browser, follow_menu_link, live_server, new_page, shots, sign_in,
)

from .conftest import SYSTEM, make_items, make_pool

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def live_site(make_site):
    from plugins.pools import plugin as pools_plugin

    from . import poolplugin

    site = make_site(pools_plugin, poolplugin, default_locale="en")
    poolplugin.create_tables(site.engine)
    team = site.records.create(SYSTEM, "teams", {"name": "North"})
    users = {}
    for key, role in (("rep", "sales_rep"), ("rep2", "sales_rep")):
        users[key] = site.records.create(SYSTEM, "users", {
            "email": f"{key}@example.com", "name": key.title(), "role": role, "team_id": team["id"], "password": TEST_PASSWORD,
        })
    pool = make_pool(site, member_ids=[u["id"] for u in users.values()], claim_limit=2, followup_days=7, close_days=30, masked_fields=["phone"])
    make_items(site, pool["id"], 3, phone="13800138000")
    site.pool = pool  # type: ignore[attr-defined]
    site.users = users  # type: ignore[attr-defined]
    return site


def open_page(browser: Any, live_server: str, who: str, viewport: dict[str, int]) -> Any:
    from playwright.sync_api import expect

    page = sign_in(new_page(browser, viewport), live_server, f"{who}@example.com", TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    return page


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["375px", "1366px"])
def test_a_rep_claims_from_the_pool_then_sees_it_in_my_holdings(browser, live_server, live_site, clock, shots, viewport):
    from playwright.sync_api import expect

    site = live_site
    page = open_page(browser, live_server, "rep", viewport)
    follow_menu_link(page, "Pools")
    expect(page.get_by_role("heading", name="Pools", level=1)).to_be_visible()
    row = page.locator("table.pools-list tbody tr", has_text="Shanghai")
    expect(row.locator(".pool-waiting")).to_have_text("3")
    expect(row).to_contain_text("Member")
    assert_no_sideways_scroll(page)
    row.get_by_role("link", name="Open").click()

    expect(page.get_by_role("heading", name="Shanghai")).to_be_visible()
    records = page.locator("#pool-records tbody tr")
    expect(records).to_have_count(3)
    expect(records.first.locator(".masked")).to_be_visible()  # the phone is masked until claimed
    assert "13800138000" not in page.content()
    assert_no_sideways_scroll(page)
    shots(page, "01-pool")

    page.get_by_role("button", name="Claim item 0").click()
    expect(page.get_by_role("status")).to_contain_text("Claimed.")
    expect(records).to_have_count(2)
    page.get_by_role("button", name="Claim item 1").click()
    expect(page.get_by_role("status")).to_contain_text("Claimed.")
    page.get_by_role("button", name="Claim item 2").click()  # the limit is 2
    expect(page.locator("#pool-error")).to_contain_text("claim limit reached: 2")
    expect(records).to_have_count(1)
    shots(page, "02-refused")
    owners = {r["name"]: r["owner_id"] for r in site.records.list(SYSTEM, "items").items}
    assert owners == {"item 0": site.users["rep"]["id"], "item 1": site.users["rep"]["id"], "item 2": None}

    clock.advance(timedelta(days=3))
    site.records.update(SYSTEM, "items", next(r["id"] for r in site.records.list(SYSTEM, "items").items if r["name"] == "item 1"),
                        {"last_activity_at": clock.now()})
    follow_menu_link(page, "My holdings")
    expect(page.get_by_role("heading", name="My holdings")).to_be_visible()
    held = page.locator("#holdings tbody tr")
    expect(held).to_have_count(2)
    first, second = held.nth(0), held.nth(1)
    expect(first).to_contain_text("item 0")  # the sooner return comes first
    expect(first.locator(".days-left")).to_contain_text("4 days")
    expect(first).to_contain_text("Follow-up deadline")
    expect(second.locator(".days-left")).to_contain_text("7 days")  # followed up today
    assert_no_sideways_scroll(page)
    shots(page, "03-holdings")

    first.get_by_role("link", name="Why is it mine?").click()
    expect(page.get_by_role("heading", name="Ownership history of item 0")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Why you own it: Claimed")
    assert_no_sideways_scroll(page)
    assert page.errors == []


def test_the_holdings_page_on_a_phone_in_chinese_with_nothing_held(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    page = open_page(browser, live_server, "rep2", PHONE)
    page.context.add_cookies([{"name": "crm_locale", "value": "zh_CN", "url": live_server}])
    page.goto(live_server + "/p/pools/holdings")
    expect(page.get_by_role("heading", name="我的持有")).to_be_visible()
    expect(page.locator("section.empty")).to_contain_text("您目前没有从池中持有记录。")
    assert_no_sideways_scroll(page)
    shots(page, "empty-zh")
