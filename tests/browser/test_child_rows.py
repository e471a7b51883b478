"""Child rows in the generic form, in Chromium on a 375-px phone and a desktop: add rows, edit one, remove one."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kernel import Actor, Base
from kernel.testing import plugin_module, sign_in
from tests.test_children import Basket, BasketItem, entities, items_of

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("cli")
PASSWORD = "correct-horse-1"
VIEWPORTS = {"phone": {"width": 375, "height": 740}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def live_site(make_site, monkeypatch):
    import kernel.browsertesting

    monkeypatch.setattr(kernel.browsertesting, "free_port", lambda: 8821)  # this suite's port range
    site = make_site(plugin_module("kidtest", register_entities=entities), default_locale="en")
    Base.metadata.create_all(site.engine, tables=[Basket.__table__, BasketItem.__table__])
    return site


def fits(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_add_edit_and_remove_rows(browser, live_server, live_site, shots, device):
    from playwright.sync_api import expect

    live_site.records.create(SYSTEM, "users", {"email": "boss@example.com", "name": "Boss", "password": PASSWORD, "role": "admin"})
    context = browser.new_context(viewport=VIEWPORTS[device], locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "boss@example.com", PASSWORD)

    page.goto(live_server + "/r/kidtest_baskets/new")
    page.locator("#f-title").fill("Groceries")
    rows = page.locator("[data-child-list] [data-child-row]")
    expect(rows).to_have_count(1)
    page.locator("#f-items-0-name").fill("tea")
    page.locator("#f-items-0-qty").fill("2")
    page.locator("#f-items-0-price").fill("12.50")
    page.get_by_role("button", name="Add row").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#f-items-1-position")).to_be_focused()  # the new row's first cell
    page.locator("#f-items-1-name").fill("rice")
    page.locator("#f-items-1-price").fill("40")
    assert fits(page)
    if device == "phone":  # a card per row: the cells stack, each with its own label
        first, second = page.locator("#f-items-0-name").bounding_box(), page.locator("#f-items-0-qty").bounding_box()
        assert second["y"] > first["y"] + first["height"] - 1
        expect(page.locator("label[for=f-items-0-qty]")).to_be_visible()
    else:  # one line per row under a header
        first, second = page.locator("#f-items-0-name").bounding_box(), page.locator("#f-items-0-qty").bounding_box()
        assert abs(second["y"] - first["y"]) < 2
        expect(page.locator(".child-head")).to_be_visible()
    shots(page, f"{device}-new")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/r/kidtest_baskets/\d+\?saved=1"))
    basket = live_site.records.list(SYSTEM, "kidtest_baskets").items[0]
    assert [(i["name"], i["qty"], str(i["price"])) for i in items_of(live_site, basket["id"])] == [("tea", 2, "12.50"), ("rice", 1, "40.00")]

    page.goto(live_server + f"/r/kidtest_baskets/{basket['id']}/edit")
    expect(rows).to_have_count(3)  # two stored rows and a blank one
    page.locator("#f-items-0-qty").fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#f-items-0-qty-error")).to_be_visible()  # the cell's own error
    page.locator("#f-items-0-qty").fill("3")
    page.locator("input[name='items.1._delete']").check()
    expect(rows.nth(1)).to_have_class(re.compile("is-removed"))
    assert fits(page)
    shots(page, f"{device}-edit")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"\?saved=1"))
    assert [(i["name"], i["qty"]) for i in items_of(live_site, basket["id"])] == [("tea", 3)]
    assert str(live_site.records.get(SYSTEM, "kidtest_baskets", basket["id"])["total"]) == "37.50"
    assert problems == []
    context.close()
