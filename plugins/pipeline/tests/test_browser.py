"""The board in Chromium at 1366 px, signed in as a sales rep (Chinese): drag a card to 报价, get asked for
the amount in a dialog, answer, and the card stays in 报价 with the column's total updated.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/pipeline``.
"""

from __future__ import annotations

import pytest

from kernel.testing import (  # noqa: F401 - fixtures
    TEST_PASSWORD, assert_no_sideways_scroll, browser, live_server, new_page, shots, sign_in,
)
from .support import SYSTEM, required_plugins

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def live_site(make_site):
    site = make_site(*required_plugins(), default_locale="zh_CN")
    rep = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep", "password": TEST_PASSWORD})
    customer = site.records.create(SYSTEM, "customers", {"name": "华东机械有限公司", "kind": "company", "owner_id": rep["id"]})
    deal = site.records.create(SYSTEM, "opportunities", {"name": "数控机床采购", "customer_id": customer["id"], "owner_id": rep["id"],
                                                         "stage": "needs"})
    site.deal = deal  # type: ignore[attr-defined]
    return site


def test_a_drag_to_quote_asks_for_the_amount_and_moves_the_card(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    site = live_site
    page = sign_in(new_page(browser, DESKTOP, locale="zh-CN"), live_server, "rep@example.com", TEST_PASSWORD)

    page.goto(live_server + "/p/pipeline/board")
    expect(page.get_by_role("heading", name="商机看板", level=1)).to_be_visible()
    card = page.locator(f'.board-card[data-id="{site.deal["id"]}"]')
    quote = page.locator('.lane[data-lane="quote"]')
    expect(page.locator('.lane[data-lane="needs"] .board-card')).to_have_count(1)
    assert_no_sideways_scroll(page)
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
    assert page.errors == []


def test_a_list_wider_than_the_page_scrolls_inside_its_box(browser, live_server, live_site):
    """The opportunities' columns at 1024 px (the narrowest width with a table and the menu beside it): the
    list's box scrolls sideways, the page does not, and the column headers stay at the top of the box."""
    from playwright.sync_api import expect

    page = sign_in(new_page(browser, {"width": 1024, "height": 800}, locale="zh-CN"), live_server, "rep@example.com", TEST_PASSWORD)
    page.goto(live_server + "/r/opportunities")
    box = page.locator(".table-scroll")
    expect(box.locator("tbody tr")).to_have_count(1)
    assert_no_sideways_scroll(page)
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # wider than its box: the box scrolls
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    assert box.evaluate("b => b.scrollLeft") > 0
    header, top = box.locator("thead th").first.bounding_box(), box.bounding_box()
    assert abs(header["y"] - top["y"]) < 2  # the header row at the top of the box, not 56 px down it over the first row
    assert page.errors == []
