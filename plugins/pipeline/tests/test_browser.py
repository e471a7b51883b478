"""The board in Chromium at 1366 px, signed in as a sales rep (Chinese): drag a card to 报价, get asked for
the amount in a dialog, answer, and the card stays in 报价 with the column's total updated.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/pipeline``.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel.testing import browser, live_server, shots  # noqa: F401 - fixtures
from .support import SYSTEM, required_plugins

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-pass"
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def live_site(make_site):
    site = make_site(*required_plugins(), default_locale="zh_CN")
    rep = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep", "password": PASSWORD})
    customer = site.records.create(SYSTEM, "customers", {"name": "华东机械有限公司", "kind": "company", "owner_id": rep["id"]})
    deal = site.records.create(SYSTEM, "opportunities", {"name": "数控机床采购", "customer_id": customer["id"], "owner_id": rep["id"],
                                                         "stage": "needs"})
    site.deal = deal  # type: ignore[attr-defined]
    return site


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"the page is {width} px wide"


def test_a_drag_to_quote_asks_for_the_amount_and_moves_the_card(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    site = live_site
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + "/login")
    page.locator("input[name=email]").fill("rep@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(live_server + "/p/pipeline/board")
    expect(page.get_by_role("heading", name="商机看板", level=1)).to_be_visible()
    card = page.locator(f'.board-card[data-id="{site.deal["id"]}"]')
    quote = page.locator('.lane[data-lane="quote"]')
    expect(page.locator('.lane[data-lane="needs"] .board-card')).to_have_count(1)
    no_sideways_scroll(page)
    shots(page, "01-board")

    card.drag_to(quote)
    dialog = page.locator("dialog.board-ask")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("移动前还需填写以下信息。")
    expect(card).to_have_count(1)
    assert site.records.get(SYSTEM, "opportunities", site.deal["id"])["stage"] == "needs"
    dialog.get_by_label("金额").fill("86000.00")
    shots(page, "02-asked")
    dialog.get_by_role("button", name="保存并移动").click()
    expect(dialog).to_have_count(0)
    expect(quote.locator(f'.board-card[data-id="{site.deal["id"]}"]')).to_have_count(1)
    expect(quote.locator("[data-lane-total]")).to_contain_text("86,000.00")
    stored = site.records.get(SYSTEM, "opportunities", site.deal["id"])
    assert (stored["stage"], str(stored["amount"])) == ("quote", "86000.00")
    assert errors == []
