"""The list tools in Chromium on a 375-px phone and a desktop: save a view, bulk assign, export."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kernel import Actor
from kernel.testing import sign_in

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("cli")
PASSWORD = "correct-horse-1"
VIEWPORTS = {"phone": {"width": 375, "height": 740}, "desktop": {"width": 1280, "height": 800}}


def inside_viewport(page: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_save_a_view_assign_and_export(browser, live_server, live_site, shots, device):
    from playwright.sync_api import expect

    live_site.records.create(SYSTEM, "users", {"email": "boss@example.com", "name": "Boss", "password": PASSWORD, "role": "admin"})
    ann = live_site.records.create(SYSTEM, "users", {"email": "ann@example.com", "name": "Ann", "role": "sales_rep"})
    live_site.records.create_many(SYSTEM, "notes", [{"title": "Call ACME"}, {"title": "Call Huawei"}, {"title": "Lunch"}])
    context = browser.new_context(viewport=VIEWPORTS[device], locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "boss@example.com", PASSWORD)

    # search, then keep it as a shared view from the Views menu
    page.goto(live_server + "/r/notes")
    page.get_by_label("Search Notes").fill("call")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    page.locator(".views-menu summary").click()
    panel = page.locator(".views-panel")
    expect(panel).to_be_visible()
    assert inside_viewport(page, panel)
    page.get_by_label("Save this list as").fill("Calls")
    page.get_by_label("Share with everyone").check()
    shots(page, "01-views-menu")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("View saved.")).to_be_visible()
    expect(page.locator(".views-menu summary")).to_contain_text("View: Calls")

    # back to everything, then apply the view with one click
    page.goto(live_server + "/r/notes")
    expect(page.locator("table.records tbody tr")).to_have_count(3)
    page.locator(".views-menu summary").click()
    page.locator(".views-list").get_by_role("link", name="Calls", exact=True).click()
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    expect(page.locator('.views-list a[aria-current="true"]')).to_have_text("Calls")

    # select one record and give it to Ann, after a confirmation
    assign = page.get_by_role("button", name="Assign", exact=True)
    expect(assign).to_be_disabled()
    page.get_by_label("Select Call ACME").check()
    expect(assign).to_be_enabled()
    page.get_by_label("Assign to…").select_option(label="Ann (ann@example.com)")
    assert inside_viewport(page, page.locator(".bulk-bar"))
    shots(page, "02-bulk-bar")
    assign.click()
    expect(page.get_by_role("heading", name="Assign 1 record?")).to_be_visible()
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_text("Assigned 1 record to Ann.")).to_be_visible()
    owners = {n["title"]: n["owner_id"] for n in live_site.records.list(SYSTEM, "notes").items}
    assert owners == {"Call ACME": ann["id"], "Call Huawei": None, "Lunch": None}

    # export what the view matches, as XLSX
    page.get_by_label("Export as").select_option("xlsx")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Export", exact=True).click()
    assert re.fullmatch(r"notes-\d{4}-\d{2}-\d{2}\.xlsx", caught.value.suggested_filename)
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[device]["width"]
    assert problems == [], problems
    context.close()
