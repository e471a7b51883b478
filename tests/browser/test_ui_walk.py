"""A new user's first session, in Chromium, on a desktop and on a 375-px phone."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}


def navigate(page: Any, link: str) -> None:
    """Follow a main-menu link: from the sidebar, or through the menu button on a narrow screen."""
    if page.viewport_size["width"] < 1024:
        page.locator(".nav-toggle summary").click()
        page.locator(".nav-toggle .nav").get_by_role("link", name=link, exact=True).click()
    else:
        page.locator(".sidebar").get_by_role("link", name=link, exact=True).click()


def expect_ok(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".alert-error")).to_have_count(0)


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_first_session_walk(browser, live_server, shots, device):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORTS[device], locale="en-US", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(10_000)
    foreign: list[str] = []
    page.on("request", lambda request: foreign.append(request.url) if not request.url.startswith(live_server) else None)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    # first run: the setup page creates the administrator and signs them in
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Welcome to PlugCRM")).to_be_visible()
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Name").fill("Olivia Owner")
    page.get_by_label("Password", exact=True).fill("correct-horse-1")
    page.get_by_label("Password again").fill("correct-horse-1")
    shots(page, "01-setup", docs="walk-setup" if device == "desktop" else None)
    page.get_by_role("button", name="Create administrator").click()
    expect(page).to_have_url(re.compile(r"/admin/plugins"))
    expect(page.get_by_text("Your administrator account is ready.")).to_be_visible()
    expect(page.get_by_role("heading", name="notes")).to_be_visible()
    shots(page, "02-plugins", docs="walk-admin-plugins" if device == "desktop" else None)

    # add a custom field to notes
    navigate(page, "Custom fields")
    page.locator("a.tile", has_text="Notes").click()
    page.get_by_label("Name").fill("rating")
    page.get_by_label("Label (English)").fill("Rating")
    page.get_by_label("Label (Chinese)").fill("评级")
    page.get_by_label("Kind").select_option("enum")
    page.get_by_label("Choices").fill("hot, warm, cold")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_text("Field rating added.")).to_be_visible()
    expect(page.locator("table.records")).to_contain_text("Rating")
    shots(page, "03-custom-field", docs="walk-custom-field" if device == "desktop" else None)

    # create two records using it; the owner is picked with the htmx reference picker
    for title, rating, priority in (("Call ACME back", "hot", "2"), ("Someday maybe", "cold", "4")):
        navigate(page, "Notes")
        page.get_by_role("link", name="New Note").click()
        page.get_by_label("Title").fill(title)
        page.get_by_label("Priority").fill(priority)
        page.get_by_label("Due").fill("2026-03-01")
        page.get_by_label("Rating").select_option(rating)
        page.get_by_label("Owner").fill("Oli")
        page.locator("[data-picker-pick]").first.click()
        expect(page.get_by_label("Owner")).to_have_value("Olivia Owner")
        if title == "Call ACME back":
            shots(page, "04-form", docs="walk-form" if device == "desktop" else None)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.locator(".fields")).to_contain_text(["Olivia Owner"])
    shots(page, "05-detail", docs="walk-detail" if device == "desktop" else None)

    # a wrong value is explained next to its field
    navigate(page, "Notes")
    page.get_by_role("link", name="New Note").click()
    page.get_by_label("Priority").fill("9")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#f-priority-error")).to_contain_text("Priority must be at most 5")
    expect(page.locator("#f-title-error")).to_be_visible()
    shots(page, "06-form-errors")

    # find it with a filter
    navigate(page, "Notes")
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(2)
    page.locator(".filter-panel summary").click()
    page.locator(".filter-panel").get_by_label("Rating").select_option("hot")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Call ACME back")
    thead = page.locator("table.records thead")
    expect(thead).to_be_hidden() if device == "phone" else expect(thead).to_be_visible()  # phones get cards
    shots(page, "07-filtered-list", docs="walk-list" if device == "desktop" else None)

    # edit it
    rows.first.get_by_role("link", name="Call ACME back").click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Call ACME back today")
    page.get_by_label("Rating").select_option("warm")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Call ACME back today")).to_be_visible()
    expect(page.locator("section.card", has=page.get_by_role("heading", name="Custom fields"))).to_contain_text("warm")

    # its history, loaded into the tab by htmx
    page.get_by_role("tab", name="History").click()
    entries = page.locator(".timeline > li")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("Changed")
    expect(entries.first).to_contain_text("Call ACME back today")
    expect(entries.first).to_contain_text("via ui")
    expect(page).to_have_url(re.compile(r"tab=history"))
    shots(page, "08-history")

    # switch to Chinese: the same page, translated, dates localized
    page.locator(".topbar .lang").get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("tab", name="历史记录")).to_be_visible()
    expect(page.locator(".timeline > li").first).to_contain_text("修改")
    page.get_by_role("tab", name="详情").click()
    expect(page.locator(".fields").first).to_contain_text("2026年3月1日")
    expect(page.locator(".fields").first).to_contain_text("截止日期")
    shots(page, "09-chinese-detail")

    # the dashboard: counts, a number, an ECharts chart, a table
    navigate(page, "仪表盘")
    expect(page.get_by_role("heading", name="仪表盘", level=1)).to_be_visible()
    expect(page.locator(".widget-number .big-number")).to_have_text("2")
    expect(page.locator("[data-chart] svg")).to_have_count(1)
    expect(page.locator(".widget-table")).to_contain_text("Someday maybe")
    shots(page, "10-dashboard", docs="walk-dashboard" if device == "desktop" else None)

    # keyboard: the skip link is the first stop and lands on the content
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()

    # sign out
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    assert foreign == [], "the UI must load nothing from outside the app"
    assert problems == [], problems
    context.close()
