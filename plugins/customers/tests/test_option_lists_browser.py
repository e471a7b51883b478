"""Option lists in Chromium at 1366 and 375 px: an admin edits the level list (colour, archive, order,
a new option merged away); a rep filters customers by several levels with a multiple select, by a
region of the tree with cascading selects (a province takes its cities), and picks a city in the form
the same way. Screenshots under artifacts/screenshots."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kernel.testing import browser, live_server, make_people, new_page, shots, sign_in  # noqa: F401 - fixtures

from .conftest import SYSTEM

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-pass"
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}


@pytest.fixture
def live_site(make_site):
    site = make_site(plugins=("customers",), default_locale="en")
    people = make_people(site)
    for who in ("rep", "admin"):
        site.records.update(SYSTEM, "users", people[who].user_id, {"password": PASSWORD})
    for name, region, level in (("Shanghai Steel", "上海", "A"), ("Beijing Books", "Beijing", "B"), ("Tianjin Tea", "tianjin", "C")):
        site.records.create(people["rep"], "customers", {"name": name, "region": region, "level": level})
    site.people = people  # type: ignore[attr-defined]
    return site


def open_page(browser: Any, base: str, who: str, viewport: dict[str, int]) -> Any:
    from playwright.sync_api import expect

    page = new_page(browser, viewport, timeout_ms=10_000, is_mobile=viewport["width"] < 500)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, f"{who}@example.com", PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    return page


def overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_admin_edits_the_level_list(browser, live_site, live_server, shots, size):  # noqa: F811
    from playwright.sync_api import expect

    page = open_page(browser, live_server, "admin", SIZES[size])
    page.goto(live_server + "/admin/option-lists")
    expect(page.get_by_role("link", name="Customer level")).to_be_visible()
    assert overflow(page) <= 0
    shots(page, f"{size}-index")
    page.get_by_role("link", name="Customer level").click()
    expect(page.get_by_role("heading", name="Customer level", level=1)).to_be_visible()
    page.get_by_label("Colour: B").fill("#722ed1")
    page.get_by_label("Archived: D").check()
    page.get_by_label("Position: C – regular").fill("0")
    page.get_by_label("Label (Chinese): A").fill("A 类（战略）")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Option list saved.")).to_be_visible()
    assert re.findall(r'name="position\.(\w+)"', page.content()) == ["C", "A", "B", "D"]
    assert overflow(page) <= 0, "the options are wider than the screen"
    shots(page, f"{size}-saved")
    page.locator("#new-code").fill("gold")
    page.locator("#new-en").fill("Gold")
    page.locator("#new-zh").fill("金牌")
    page.get_by_role("button", name="Add option").click()
    expect(page.get_by_label("Label (English): gold")).to_have_value("Gold")
    page.locator("#merge-from").select_option("gold")
    page.locator("#merge-into").select_option("A")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_text("Options merged; 0 records changed.")).to_be_visible()
    shots(page, f"{size}-merged")
    listed = live_site.refresh().option_lists["customers.level"]
    assert listed.option("B").colour == "#722ed1" and listed.option("D").archived and listed.option("gold").merged_into == "A"
    assert listed.option("A").label["zh_CN"] == "A 类（战略）"
    assert page.errors == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_rep_filters_by_several_regions_and_picks_a_city(browser, live_site, live_server, shots, size):  # noqa: F811
    from playwright.sync_api import expect

    page = open_page(browser, live_server, "rep", SIZES[size])
    page.goto(live_server + "/r/customers")
    page.get_by_text("Filters", exact=True).click()
    levels = page.locator("#filter-level")
    expect(levels).to_have_attribute("multiple", "")
    levels.select_option(["A", "B"])
    shots(page, f"{size}-filter-open")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name="Shanghai Steel")).to_be_visible()
    expect(page.get_by_role("link", name="Beijing Books")).to_be_visible()
    expect(page.get_by_role("link", name="Tianjin Tea")).to_have_count(0)
    assert "level__in=A%2CB" in page.url or "level__in=A&" in page.url
    assert overflow(page) <= 0
    shots(page, f"{size}-filtered")
    page.goto(live_server + "/r/customers?f.region__in=shanghai,beijing")  # several regions: by address (a saved view)
    expect(page.get_by_role("link", name="Tianjin Tea")).to_have_count(0)
    expect(page.get_by_role("link", name="Beijing Books")).to_be_visible()
    page.goto(live_server + "/r/customers/new")
    page.get_by_label(re.compile(r"^Name")).fill("Hangzhou Hardware")
    page.get_by_label(re.compile(r"^Region")).select_option(label="Zhejiang")  # the province, then its cities
    page.locator(".cascade select[data-level='1']").select_option(label="Hangzhou")
    page.get_by_label(re.compile(r"^Industry")).select_option(label="Manufacturing")
    page.get_by_role("button", name=re.compile("^(Save|Create)")).first.click()
    expect(page.get_by_role("heading", name="Hangzhou Hardware", level=1)).to_be_visible()
    expect(page.locator(".field-value", has_text="Zhejiang / Hangzhou")).to_be_visible()
    shots(page, f"{size}-detail")
    page.goto(live_server + "/r/customers")
    page.get_by_text("Filters", exact=True).click()
    page.locator("#filter-region").select_option(label="Zhejiang")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name="Hangzhou Hardware")).to_be_visible()  # 浙江 takes 杭州 with it
    expect(page.get_by_role("link", name="Shanghai Steel")).to_have_count(0)
    assert page.errors == []
