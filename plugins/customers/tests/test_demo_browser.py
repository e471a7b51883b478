"""The demo as a newcomer sees it, in Chromium: the demo rep 李娜 signs in with the password
``crm demo`` printed and finds the dashboard, My day and the churn list filled, in 简体中文 and in English,
on a laptop (1366 px) and a phone (375 px). Run with ``pytest -m browser plugins/customers``."""

from __future__ import annotations

from typing import Any

import pytest

from kernel import Actor
from kernel.testing import browser, live_server, seed_demo, shots, sign_in  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

REP = "li.na@example.com"
#: per language: the browser's locale, the dashboard's heading, the churn widget, its count, the
#: industry widget and an industry in it, an overdue task's mark, the export's raw-codes box
WORDS = {
    "zh_CN": ("zh-CN", "仪表盘", "流失预警客户", "1 个客户", "客户行业分布", "制造", "已逾期", "原始代码"),
    "en": ("en-US", "Dashboard", "Customers at churn risk", "1 customer", "Customers by industry", "Manufacturing", "Overdue", "Raw codes"),
}


@pytest.fixture
def live_site(make_site):
    site = make_site(plugins=("customers",), default_locale="zh_CN")
    site.demo = seed_demo(site, Actor.system("cli"))  # type: ignore[attr-defined]
    return site


@pytest.mark.parametrize("language", list(WORDS))
@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 860}, {"width": 375, "height": 812}], ids=["1366", "375"])
def test_the_demo_rep_finds_a_filled_dashboard_my_day_and_churn_list(
    browser: Any, live_server: str, live_site: Any, shots: Any, viewport: dict[str, int], language: str
) -> None:
    from playwright.sync_api import expect

    browser_locale, dashboard, churn_widget, flagged, industries, industry, overdue, raw_codes = WORDS[language]
    context = browser.new_context(viewport=viewport, locale=browser_locale, timezone_id="Asia/Shanghai")
    context.add_cookies([{"name": "crm_locale", "value": language, "url": live_server}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, REP, live_site.demo.passwords[REP])
    expect(page.get_by_role("heading", name=dashboard, level=1)).to_be_visible()
    churn = page.get_by_role("region", name=churn_widget)
    expect(churn).to_be_visible()
    expect(churn).to_contain_text(flagged)  # the customer the demo's churn job flagged
    expect(page.get_by_role("region", name=industries)).to_contain_text(industry)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the dashboard scrolls sideways"
    shots(page, f"01-dashboard-{language}", docs=f"demo-dashboard-{viewport['width']}" if language == "zh_CN" else None)

    page.goto(live_server + "/p/customers/my-day")
    expect(page.get_by_text("深圳前海智造股份有限公司").first).to_be_visible()
    expect(page.get_by_text("杭州云帆科技有限公司").first).to_be_visible()
    assert overdue in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "My day scrolls sideways"
    shots(page, f"02-my-day-{language}", docs=f"demo-my-day-{viewport['width']}" if language == "zh_CN" else None)

    page.goto(live_server + "/p/customers/churn")
    expect(page.get_by_text("深圳前海智造股份有限公司").first).to_be_visible()
    shots(page, f"03-churn-{language}", docs=f"demo-churn-{viewport['width']}" if language == "zh_CN" else None)

    page.goto(live_server + "/r/customers")
    expect(page.get_by_label(raw_codes)).to_be_visible()  # the export's "raw codes" box, beside the format
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the list scrolls sideways"
    shots(page, f"04-list-export-{language}", docs=f"demo-customer-list-{viewport['width']}" if language == "zh_CN" else None)
    assert errors == []
    context.close()
