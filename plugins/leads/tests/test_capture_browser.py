"""The capture form in Chromium on a phone (375 px): a visitor fills in the lead form in Chinese, ticks
consent and lands in the form's lead pool as a web-form lead; the same phone again is flagged, not dropped.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/leads/tests/test_capture_browser.py``.
"""

from __future__ import annotations

import pytest

from kernel.testing import PHONE, api_clients, assert_no_sideways_scroll, browser, live_server, new_page, shots  # noqa: F401 - fixtures

from .conftest import make_pool
from .support import SYSTEM, required_plugins
from .test_capture import FORM

pytestmark = pytest.mark.browser


@pytest.fixture
def live_site(make_site):
    from kernel import Actor

    site = make_site(*required_plugins(), default_locale="zh_CN")
    admin = site.records.create(SYSTEM, "users", {"email": "admin@example.com", "name": "Admin", "role": "admin"})
    manager = site.records.create(SYSTEM, "users", {"email": "m@example.com", "name": "M", "role": "sales_manager"})
    rep = site.records.create(SYSTEM, "users", {"email": "r@example.com", "name": "R", "role": "sales_rep"})
    people = {k: Actor(user_id=u["id"], label=u["email"], role=u["role"]) for k, u in (("admin", admin), ("manager", manager), ("rep", rep))}
    people["rep2"] = people["rep"]
    client = api_clients(site)(people["admin"])
    assert client.post("/api/v1/meta/forms", json=FORM).status_code == 201
    pool = make_pool(site, people)
    assert client.put("/api/v1/plugins/leads/capture/forms/expo-2026", json={"pool_id": pool["id"]}).status_code == 200
    site.pool = pool  # type: ignore[attr-defined]
    return site


def test_a_visitor_fills_in_the_capture_form_on_a_phone(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    site = live_site
    page = new_page(browser, PHONE, locale="zh-CN")
    for attempt in range(2):
        page.goto(live_server + "/public/forms/expo-2026")
        expect(page.get_by_role("heading", name="联系我们")).to_be_visible()
        page.get_by_label("您的姓名").fill("刘洋")
        page.get_by_label("电话").fill("13812345678")
        page.get_by_label("公司").fill("上海某某科技有限公司")
        assert_no_sideways_scroll(page)
        page.get_by_label("同意致电联系。").check()
        shots(page, f"leads-capture-form-{attempt}")
        page.get_by_role("button").last.click()
        expect(page.get_by_text("谢谢")).to_be_visible()
    assert page.errors == []
    leads = site.records.list(SYSTEM, "leads", sort="id").items
    assert [(lead["name"], lead["source"], lead["pool_id"]) for lead in leads] == [("刘洋", "web_form", site.pool["id"])] * 2
    import sqlalchemy as sa

    captures = sa.table("leads_captures", sa.column("lead_id"), sa.column("duplicate_ids", sa.JSON))
    with site.engine.connect() as conn:
        flags = [row.duplicate_ids for row in conn.execute(sa.select(captures).order_by(captures.c.lead_id))]
    assert flags == [[], [["leads", leads[0]["id"]]]]
    page.context.close()
