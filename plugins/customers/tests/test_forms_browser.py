"""Issue 15 in Chromium, at 1366 px and 375 px: a rep writes a full customer — with a contact, a
follow-up and a task — choosing every related record and person by name, never typing an id; the
form warns about a look-alike while the name is typed, and a foreign phone number is kept.

Run with ``pytest -m browser plugins/customers/tests/test_forms_browser.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from kernel.testing import browser, follow_menu_link, live_server, make_people, shots  # noqa: F401 - fixtures

from .conftest import SYSTEM
from .test_browser import PASSWORD, exactly, field, open_page

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1366, "height": 860}, "phone": {"width": 375, "height": 812}}


@pytest.fixture
def live_site(make_site):
    site = make_site(plugins=("customers",), default_locale="en")
    people = make_people(site)
    for who in ("rep", "rep2"):
        site.records.update(SYSTEM, "users", people[who].user_id, {"password": PASSWORD})
    site.records.create(people["rep"], "customers", {"name": "West Lake Tea", "phone": "13800138000"})
    site.people = people  # type: ignore[attr-defined]
    return site


def pick(page: Any, label: str, text: str, name: str | None = None) -> None:
    """Type part of a name into a picker and choose the match that shows it (or is called ``name``)."""
    search = page.get_by_label(exactly(label))
    search.fill(text)
    results = page.locator("#" + search.get_attribute("id") + "-results")
    chosen = results.locator(f'[data-picker-label="{name}"]') if name else results.locator("[data-picker-pick]", has_text=text)
    chosen.first.click()


def no_id_inputs(page: Any) -> None:
    """Nothing on the form asks for a number that names a record: references are pickers."""
    typed = page.locator('form.record-form input[name$="_id"]:not([type=hidden]), form.record-form input[name$="_ids"]:not([type=hidden])')
    assert typed.count() == 0
    assert page.locator('form.record-form input[name="record_id"], form.record-form input[name="entity"]').count() == 0


def fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways"


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_full_customer_is_written_without_typing_an_id(browser, live_server, live_site, shots, size):
    from playwright.sync_api import expect

    page = open_page(browser, live_server, "rep", SIZES[size])

    # the customer: name first, a look-alike named while typing, shared with a colleague by name
    follow_menu_link(page, "Customers")
    page.get_by_role("link", name="New Customer").click()
    no_id_inputs(page)
    labels = page.locator("form.record-form label").all_inner_texts()
    assert labels.index("Name *") < labels.index("Phone")
    for derived in ("Last followed up", "Churn risk", "Public sea"):
        assert not any(text.startswith(derived) for text in labels)
    page.get_by_label(exactly("Name")).fill("West Lake Tea Co., Ltd.")
    warning = page.locator("#possible-duplicates")
    expect(warning).to_contain_text("This may already exist:")
    expect(warning.get_by_role("link", name="West Lake Tea")).to_be_visible()
    shots(page, f"{size}-01-duplicate-while-typing")
    page.get_by_label(exactly("Name")).fill("Kowloon Tea Trading")
    expect(warning).to_be_empty()
    page.get_by_label(exactly("Phone")).fill("+852 2345 6789")
    expect(page.locator("[data-counter-for='f-name']")).to_have_text("19 / 200")
    pick(page, "Shared with users", "Rep2")
    expect(page.locator("[data-picker-multi=shared_user_ids] .chip")).to_have_text(re.compile("Rep2"))
    pick(page, "Shared with teams", "North")
    fits(page)
    shots(page, f"{size}-02-customer-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Kowloon Tea Trading", level=1)).to_be_visible()
    expect(field(page, "Phone")).to_contain_text("+852 2345 6789")
    expect(field(page, "Shared with users")).to_have_text("Rep2")
    expect(field(page, "Shared with teams")).to_have_text("North")
    fits(page)
    shots(page, f"{size}-03-customer")

    # a contact, a follow-up and a task, each pointed at the customer by its name
    follow_menu_link(page, "Contacts")
    page.get_by_role("link", name="New Contact").click()
    no_id_inputs(page)
    pick(page, "Customer", "Kowloon")
    page.get_by_label(exactly("Name")).fill("Mei Chan")
    page.get_by_label(exactly("Phone")).fill("+1 415 555 2671")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Mei Chan", level=1)).to_be_visible()
    expect(field(page, "Customer")).to_have_text("Kowloon Tea Trading")
    expect(field(page, "Phone")).to_contain_text("+1 415-555-2671")

    follow_menu_link(page, "Follow-ups")
    page.get_by_role("link", name="New Follow-up").click()
    no_id_inputs(page)
    pick(page, "Customer", "Kowloon")
    page.get_by_label("Method").select_option("call")
    page.get_by_label("Content").fill("Called Mei, wants samples")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(field(page, "Customer")).to_have_text("Kowloon Tea Trading")

    follow_menu_link(page, "Tasks")
    page.get_by_role("link", name="New Task").click()
    no_id_inputs(page)
    task_labels = page.locator("form.record-form label").all_inner_texts()
    for stamped in ("Related entity", "Related record", "Reminded at", "Done at"):
        assert stamped not in task_labels
    page.get_by_label(exactly("Title")).fill("Send samples")
    pick(page, "Customer", "Kowloon")
    pick(page, "Assignee", "Rep", name="Rep")  # a rep assigns to herself (assigning others is a manager's)
    fits(page)
    shots(page, f"{size}-04-task-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Send samples", level=1)).to_be_visible()
    expect(field(page, "Customer")).to_have_text("Kowloon Tea Trading")
    expect(field(page, "Assignee")).to_have_text("Rep")

    site = live_site
    customer = site.records.list(SYSTEM, "customers", q="Kowloon").items[0]
    assert customer["phone"] == "+85223456789" and customer["shared_user_ids"] == [site.people["rep2"].user_id]
    assert [c["customer_id"] for c in site.records.list(SYSTEM, "contacts").items] == [customer["id"]]
    assert [f["customer_id"] for f in site.records.list(SYSTEM, "followups").items] == [customer["id"]]
    [task] = site.records.list(SYSTEM, "tasks").items
    assert (task["customer_id"], task["assignee_id"]) == (customer["id"], site.people["rep"].user_id)
    assert page.errors == []
    page.context.close()
