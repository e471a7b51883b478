"""The recycle bin in Chromium on a 375-px phone: delete a note, find it in the bin, restore it."""

from __future__ import annotations

import re

import pytest

from kernel import Actor
from kernel import browsertesting
from kernel.testing import sign_in

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("cli")


@pytest.fixture
def live_server(live_site, monkeypatch):
    monkeypatch.setattr(browsertesting, "free_port", lambda: 8831)  # this worktree's port range
    with browsertesting.serve(live_site) as url:
        yield url


def test_delete_then_restore_from_the_bin_on_a_phone(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    live_site.records.create(SYSTEM, "users", {"email": "ann@example.com", "password": "correct-horse-1", "role": "admin"})
    note = live_site.records.create(SYSTEM, "notes", {"title": "Quarterly plan"})
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "ann@example.com", "correct-horse-1")

    page.goto(f"{live_server}/r/notes/{note['id']}/delete")
    expect(page.get_by_text("restore them")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/r/notes\?deleted=1"))

    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Recycle bin").click()
    expect(page.get_by_role("heading", name="Recycle bin")).to_be_visible()
    expect(page.locator("#trash")).to_contain_text("Quarterly plan")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the bin must fit a phone"
    shots(page, "01-bin-phone")
    page.get_by_role("link", name="Restore").click()
    expect(page.get_by_role("heading", name="Restore Quarterly plan?")).to_be_visible()
    page.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(re.compile(rf"/r/notes/{note['id']}"))
    expect(page.get_by_role("heading", name="Quarterly plan")).to_be_visible()
    page.goto(live_server + "/trash")
    expect(page.get_by_text("The recycle bin is empty.")).to_be_visible()
    assert problems == []
    context.close()
