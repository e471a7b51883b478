"""Issue 15, second round in Chromium, as a sales rep in 简体中文 at 1366 px and 375 px: the region
as cascading selects (省 then 市) in the form and in the list's filter, tabs counting a customer's
contacts, follow-ups and tasks, a task's customer changed inline by name, the columns a rep picks
kept for next time, and the board's cards.

Run with ``pytest -m browser plugins/customers -k layout_more``.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel.testing import assert_no_sideways_scroll, browser, live_server, shots  # noqa: F401 - fixtures

from .test_browser_record_page import VIEWPORTS, live_site, rep_page  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("device", VIEWPORTS)
def test_cascading_region_tabs_inline_reference_own_columns_and_board(browser, live_server, live_site, shots, device):  # noqa: F811
    from playwright.sync_api import expect

    rep = live_site.people["rep"]
    acme = live_site.acme
    globex = live_site.records.create(rep, "customers", {"name": "环球贸易", "region": "guangzhou"})
    task = live_site.records.create(rep, "tasks", {"title": "发送报价", "customer_id": acme["id"]})
    page: Any = rep_page(browser, live_server, VIEWPORTS[device])

    # a new customer's region: 省 first, then its cities appear
    page.goto(live_server + "/r/customers/new")
    province = page.locator("#f-region")
    expect(province).to_be_visible()
    expect(page.locator("#f-region-value")).to_be_hidden()
    expect(page.locator(".cascade select")).to_have_count(1)
    province.select_option(label="浙江")
    city = page.locator(".cascade select[data-level='1']")
    expect(city).to_be_visible()
    expect(city.locator("option")).to_have_text(["—", "杭州", "宁波"])
    city.select_option(label="杭州")
    page.locator("#f-name").fill("西湖科技")
    assert_no_sideways_scroll(page)
    shots(page, f"layout-more-{device}-01-cascade")
    page.locator("form.record-form button[type=submit]").first.click()
    expect(page.locator("#field-f-region .field-value")).to_have_text("浙江 / 杭州")

    # the list's region filter: 浙江 takes 杭州 with it, never 广州
    page.goto(live_server + "/r/customers")
    page.locator(".filter-panel summary").click()
    page.locator("#filter-region").select_option(label="浙江")
    expect(page.locator(".filter-panel .cascade select[data-level='1']")).to_be_visible()
    page.locator(".filter-panel button[type=submit]").click()
    rows = page.locator("table.records tbody tr")
    expect(rows.filter(has_text="西湖科技")).to_have_count(1)
    expect(rows.filter(has_text="环球贸易")).to_have_count(0)
    expect(page.locator("#filter-region")).to_have_value("zhejiang")
    shots(page, f"layout-more-{device}-02-filter")

    # the columns a rep picks are kept: 行业 unticked, gone next time
    page.goto(live_server + "/r/customers")
    page.locator(".columns-menu summary").click()
    page.locator(".columns-form input[name=cols][value=industry]").uncheck()
    page.locator(".columns-form button[type=submit]").first.click()
    page.goto(live_server + "/r/customers")
    heads = page.locator("table.records thead th")
    expect(heads.filter(has_text="地区")).to_have_count(1)
    expect(heads.filter(has_text="行业")).to_have_count(0)
    assert "cols=" not in page.url

    # the customer page: tabs with counts; the contacts tab lists them
    page.goto(live_server + f"/r/customers/{acme['id']}")
    tabs = page.locator("[data-related-tab]")
    expect(tabs).to_have_text(["联系人 0", "跟进记录 1", "任务 1"])
    assert_no_sideways_scroll(page)
    shots(page, f"layout-more-{device}-03-tabs")
    tabs.filter(has_text="任务").click()
    expect(page.locator("#panel")).to_contain_text("发送报价")
    expect(page.locator("#panel")).not_to_contain_text("张伟上门拜访")

    # the task's customer, changed inline by typing a name and picking it
    page.goto(live_server + f"/r/tasks/{task['id']}")
    row = page.locator("#field-f-customer_id")
    row.locator("summary").click()
    search = row.locator("#inline-f-customer_id")
    search.fill("环球")
    row.locator("[data-picker-pick]").filter(has_text="环球贸易").click()
    row.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存。")).to_be_visible()
    expect(page.locator("#field-f-customer_id .field-value")).to_have_text("环球贸易")
    assert live_site.records.get(rep, "tasks", task["id"])["customer_id"] == globex["id"]
    shots(page, f"layout-more-{device}-04-inline-reference")

    # the board's cards say more than a name
    page.goto(live_server + "/r/customers/kanban")
    card = page.locator(".board-card", has_text="杭州云帆科技")
    expect(card.locator("[data-card-field=industry]")).to_contain_text("制造")
    assert_no_sideways_scroll(page)
    shots(page, f"layout-more-{device}-05-board")
    assert page.errors == []
