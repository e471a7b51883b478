"""Issue 15 in Chromium, as a sales rep in 简体中文 at 1366 px and 375 px: the customers list (default
columns kept beside custom fields, a long name cut without squeezing the phone column, sort marks),
the menu's sections, the customer page (summary header, a colleague's follow-up, the log box, an
inline change, a contact added from the page landing back on it) and My day.

Run with ``pytest -m browser plugins/customers -k record_page``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kernel.testing import (  # noqa: F401 - fixtures
    api_clients, assert_no_sideways_scroll, browser, live_server, make_people, new_page, shots, sign_in,
)

from .conftest import SYSTEM

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-pass"
VIEWPORTS = {"desktop": {"width": 1366, "height": 860}, "phone": {"width": 375, "height": 812}}
LONG_NAME = "上海" + "非常长的客户名称" * 12 + "有限公司"


@pytest.fixture
def live_site(make_site, clock):
    site = make_site(plugins=("customers",), default_locale="zh_CN")
    people = make_people(site)
    site.records.update(SYSTEM, "users", people["rep"].user_id, {"password": PASSWORD, "name": "李娜"})
    site.records.update(SYSTEM, "users", people["manager"].user_id, {"name": "张伟"})
    admin = api_clients(site)(people["admin"])
    for name, label in (("budget_code", {"en": "Budget code", "zh_CN": "预算编号"}), ("referrer", {"en": "Referrer", "zh_CN": "推荐人"})):
        field = {"name": name, "schema": {"type": "string", "maxLength": 40}, "label": label}
        assert admin.post("/api/v1/meta/entities/customers/fields", json=field).status_code == 201
    acme = site.records.create(people["rep"], "customers", {
        "name": LONG_NAME, "phone": "0571-8888-1234", "email": "info@acme.cn", "level": "A", "industry": "软件", "region": "浙江",
        "status": "active", "custom": {"budget_code": "B-2026", "referrer": "王芳"},
    })
    site.records.create(people["rep"], "customers", {"name": "杭州云帆科技", "phone": "13800138000", "industry": "制造", "region": "浙江"})
    site.records.create(people["manager"], "followups", {
        "customer_id": acme["id"], "method": "visit", "content": "张伟上门拜访", "next_at": clock.now() + timedelta(hours=1),
    })
    site.acme, site.people = acme, people  # type: ignore[attr-defined]
    return site


def rep_page(browser: Any, live_server: str, viewport: dict[str, int]) -> Any:
    from playwright.sync_api import expect

    page = new_page(browser, viewport, locale="zh-CN", timeout_ms=10_000)
    sign_in(page, live_server, "rep@example.com", PASSWORD)
    expect(page.get_by_role("heading", name="仪表盘", level=1)).to_be_visible()
    return page


def related_card(page: Any, entity: str) -> Any:
    return page.locator("section.related-card", has=page.locator(f"#related-{entity}-customer_id"))


@pytest.mark.parametrize("device", VIEWPORTS)
def test_a_reps_list_menu_customer_page_and_day(browser, live_server, live_site, shots, device):  # noqa: F811
    from playwright.sync_api import expect

    page = rep_page(browser, live_server, VIEWPORTS[device])
    acme = live_site.acme

    # the menu: sections 销售 then 客户, the same in either language
    nav = page.locator(".sidebar .nav" if device == "desktop" else ".nav-toggle .nav")
    if device == "phone":
        page.locator(".nav-toggle summary").click()
    expect(nav.locator(".nav-section")).to_have_text(["销售", "客户"])
    expect(nav.locator("a[data-section]")).to_have_text(["我的一天", "跟进记录", "任务", "客户", "联系人", "流失预警"])
    shots(page, f"issue15-{device}-01-menu")
    nav.get_by_role("link", name="客户", exact=True).click()

    # the list: 行业 and 地区 stay beside the two custom fields; the long name is cut, the phone is not squeezed
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(2)
    long_cell = page.locator("a.record-link", has_text="上海非常长")
    expect(long_cell).to_have_attribute("title", LONG_NAME)
    phone = page.locator("a[href='tel:+8657188881234']").first
    if device == "desktop":
        heads = page.locator("table.records thead th")
        expect(heads.filter(has_text="行业")).to_have_count(1)
        expect(heads.filter(has_text="地区")).to_have_count(1)
        expect(heads.filter(has_text="预算编号")).to_have_count(1)
        expect(page.locator("th.sortable .sort-mark").first).to_have_text("↕")
        assert long_cell.bounding_box()["width"] <= 17 * 16 + 1
        assert phone.bounding_box()["height"] < 30  # one line: "0571-8888-1234" does not wrap
        assert page.evaluate("getComputedStyle(document.querySelector('table.records thead th.sortable')).position") == "sticky"
    else:
        assert long_cell.bounding_box()["width"] <= 375 and phone.bounding_box()["height"] < 30
    assert_no_sideways_scroll(page)
    shots(page, f"issue15-{device}-02-list")

    # filter by owner: typed by name, never an id
    page.locator(".filter-panel summary").click()
    page.locator("#filter-owner_id").fill("李")
    matches = page.locator("#filter-owner_id-results [data-picker-pick]")
    expect(matches).to_have_count(1)  # the typed name was searched: only 李娜 matches
    matches.first.click()
    expect(page.locator("#filter-owner_id")).to_have_value("李娜")
    page.locator(".filter-panel button[type=submit]").click()
    expect(page.locator("#filter-owner_id")).to_have_value("李娜")
    assert f"f.owner_id={live_site.people['rep'].user_id}" in page.url
    assert "%E6%9D%8E" not in page.url and "李" not in page.url  # the picker's typed name is not sent as the list's search
    expect(rows).to_have_count(2)
    shots(page, f"issue15-{device}-02b-filtered")

    # the customer page: summary header, the colleague's follow-up, the log box
    long_cell.click()
    expect(page.locator(".record-summary .state-badge")).to_have_text("活跃")
    expect(page.locator(".summary-figures")).to_contain_text("李娜")
    expect(page.locator(".summary-figures a[href='tel:+8657188881234']")).to_be_visible()
    card = related_card(page, "followups")
    expect(card.locator(".count")).to_have_text("1")
    expect(card).to_contain_text("张伟上门拜访")
    assert_no_sideways_scroll(page)
    shots(page, f"issue15-{device}-03-customer")
    page.locator("#log-followups summary").click()
    page.locator("#log-followups select[name=method]").select_option("wechat")
    page.locator("#log-followups textarea[name=content]").fill("微信沟通报价")
    page.locator("#log-followups input[name=next_at]").fill("2026-01-08T10:00")
    page.locator("#log-followups button[type=submit]").click()
    expect(page.get_by_text("已添加跟进记录。")).to_be_visible()
    assert page.url.split("?")[0].endswith(f"/r/customers/{acme['id']}")
    expect(card.locator(".count")).to_have_text("2")

    # an inline change of the level
    level = page.locator("#field-f-level")
    level.locator("summary").click()
    level.locator("select[name=level]").select_option("B")  # an option list: picked, not typed
    level.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存。")).to_be_visible()
    expect(page.locator("#field-f-level .field-value")).to_have_text("B 类（重要）")
    shots(page, f"issue15-{device}-04-inline")

    # a contact added from the page comes back to it
    related_card(page, "contacts").get_by_role("link", name="新建联系人").click()
    page.locator("#f-name").fill("陈静")
    page.locator("form.record-form button[type=submit]").first.click()
    expect(page.get_by_text("已添加联系人。")).to_be_visible()
    assert page.url.split("?")[0].endswith(f"/r/customers/{acme['id']}")
    expect(related_card(page, "contacts")).to_contain_text("陈静")

    # My day: the manager's plan on her customer
    page.goto(live_server + "/p/customers/my-day")
    expect(page.locator(".planned-followup")).to_contain_text("由 张伟 计划")
    assert_no_sideways_scroll(page)
    shots(page, f"issue15-{device}-05-my-day")
    assert page.errors == []
