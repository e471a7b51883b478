"""The customers plugin in Chromium: a rep's day with customers, contacts, follow-ups and tasks,
a manager merging a duplicate and undoing it, the churn list and the dashboard; and a phone.

Run with ``pytest -m browser plugins/customers``. Time moves with the site's FrozenClock and
the jobs run in the test (as ``crm jobs run --now`` would), while uvicorn serves the same site.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from kernel.testing import (  # noqa: F401 - fixtures
    browser, follow_menu_link, live_server, make_people, new_page, run_due_jobs, shots, sign_in,
)

from .conftest import SYSTEM

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-pass"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 812}
VALID_CODE = "91330106MA27XY123U"
BAD_CODE = "91330106MA27XY1230"


@pytest.fixture
def live_site(make_site):
    site = make_site(plugins=("customers",), default_locale="en")
    people = make_people(site)
    for who in ("rep", "manager"):
        site.records.update(SYSTEM, "users", people[who].user_id, {"password": PASSWORD})
    site.people = people  # type: ignore[attr-defined]
    return site


def open_page(browser: Any, live_server: str, who: str, viewport: dict[str, int]) -> Any:
    """A new signed-in page for ``who``@example.com, in Shanghai time, failing on any page error."""
    from playwright.sync_api import expect

    page = new_page(browser, viewport, timeout_ms=10_000)
    page.on("request", lambda request: page.errors.append(request.url) if not request.url.startswith(live_server) else None)
    sign_in(page, live_server, f"{who}@example.com", PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    return page


def exactly(label: str) -> re.Pattern[str]:
    """A label as the page names it, with the asterisk of a required field or without."""
    return re.compile(rf"^{re.escape(label)}( \*)?$")


def pick(page: Any, label: str, text: str) -> None:
    """Choose a record in a reference picker by typing part of its name."""
    page.get_by_label(exactly(label)).fill(text)
    page.locator("[data-picker-pick]").first.click()


def field(page: Any, label: str) -> Any:
    return page.locator(".fields > div", has=page.get_by_text(label, exact=True)).locator("dd .field-value")


def new_customer(page: Any, name: str, **values: str) -> None:
    from playwright.sync_api import expect

    follow_menu_link(page, "Customers")
    page.get_by_role("link", name="New Customer").click()
    page.get_by_label(exactly("Name")).fill(name)
    for label, value in values.items():
        page.get_by_label(exactly(label)).fill(value)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_a_reps_day_then_a_managers_merge_undo_churn_list_and_dashboard(browser, live_server, live_site, clock, shots):
    from playwright.sync_api import expect

    site = live_site
    page = open_page(browser, live_server, "rep", DESKTOP)

    # a customer: a wrong credit code is explained next to its field, a valid one saves
    follow_menu_link(page, "Customers")
    expect(page.locator("section.empty")).to_be_visible()
    page.get_by_role("link", name="New Customer").click()
    page.get_by_label(exactly("Name")).fill("ACME 有限公司")
    page.get_by_label(exactly("Phone")).fill("13800138000")
    page.get_by_label("Unified social credit code").fill(BAD_CODE)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#f-credit_code-error")).to_contain_text("check character does not match")
    shots(page, "01-credit-code-error")
    page.get_by_label("Unified social credit code").fill(VALID_CODE)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="ACME 有限公司", level=1)).to_be_visible()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(field(page, "Unified social credit code")).to_have_text(VALID_CODE)
    expect(field(page, "Last followed up")).to_have_text("—")
    acme_url = page.url.split("?")[0]

    # its first contact becomes the primary one
    follow_menu_link(page, "Contacts")
    page.get_by_role("link", name="New Contact").click()
    pick(page, "Customer", "ACME")
    page.get_by_label(exactly("Name")).fill("李雷")
    page.get_by_label("Title / role").fill("采购经理")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="李雷", level=1)).to_be_visible()
    expect(field(page, "Primary contact")).to_have_text("Yes")
    expect(field(page, "Customer")).to_have_text("ACME 有限公司")
    shots(page, "02-contact")

    # a follow-up moves the customer's last_followed_at
    follow_menu_link(page, "Follow-ups")
    page.get_by_role("link", name="New Follow-up").click()
    pick(page, "Customer", "ACME")
    page.get_by_label("Method").select_option("visit")
    page.get_by_label("Content").fill("Met the buyer, wants a quote")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.goto(acme_url)
    expect(field(page, "Last followed up")).to_contain_text("Jan 5, 2026, 5:00:00")  # 09:00 UTC in Shanghai

    # a task due at 18:00 today; at 17:45 the reminder job has put it in the inbox
    follow_menu_link(page, "Tasks")
    page.get_by_role("link", name="New Task").click()
    page.get_by_label(exactly("Title")).fill("Send the quote")
    pick(page, "Customer", "ACME")
    page.get_by_label(exactly("Due")).fill("2026-01-05T18:00")
    page.get_by_role("button", name="Save").click()
    expect(field(page, "Remind at")).to_contain_text("5:30:00")
    clock.advance(minutes=45)
    assert [o.status for o in run_due_jobs(site) if o.job.startswith("customers.")] == ["done", "done"]  # the kernel's own run too
    page.reload()
    expect(page.locator(".inbox-link .badge")).to_have_text("1")
    page.locator(".inbox-link").click()
    reminder = page.locator(".inbox li").first
    expect(reminder).to_contain_text("Reminder: Send the quote")
    expect(reminder).to_contain_text("Due 2026-01-05 18:00")
    shots(page, "03-reminder-inbox")
    reminder.get_by_role("button", name="Open").click()
    expect(page.get_by_role("heading", name="Send the quote", level=1)).to_be_visible()

    # my day: the task is due today
    follow_menu_link(page, "My day")
    today = page.locator(".my-day-today")
    expect(today).to_contain_text("Send the quote")
    expect(today).to_contain_text("ACME 有限公司")
    shots(page, "04-my-day")

    # the customer's 360° timeline: the Activity tab of its page
    page.goto(acme_url)
    page.get_by_role("tab", name="Activity").click()
    entries = page.locator("#activity-list > li.activity-entry")
    expect(entries.filter(has_text="Met the buyer, wants a quote")).to_contain_text("Follow-up")
    expect(entries.filter(has_text="Send the quote")).to_contain_text("Task")
    expect(entries.filter(has_text="Created")).to_have_count(1)
    shots(page, "05-timeline")

    # a duplicate: the warning names the first one
    new_customer(page, "ACME有限责任公司", Email="info@acme.cn")
    expect(page.locator(".alert-warn").first).to_contain_text("ACME 有限公司")
    expect(page.get_by_role("link", name="Compare and merge")).to_have_count(0)  # a rep may not merge
    duplicate_url = page.url.split("?")[0]
    shots(page, "06-duplicate-warning")
    assert page.errors == []
    page.context.close()

    # the manager compares, merges, and undoes it
    manager = open_page(browser, live_server, "manager", DESKTOP)
    manager.goto(duplicate_url)
    manager.locator("#customer-panel").get_by_role("link", name="Compare and merge").click()
    expect(manager.get_by_role("heading", name="Merge into ACME有限责任公司")).to_be_visible()
    compare = manager.locator("table.merge-compare")
    expect(compare.locator('input[name="pick.phone"][value="other"]')).to_be_checked()  # the only value there is
    expect(compare.locator('input[name="pick.name"][value="this"]')).to_be_checked()
    moves = manager.locator(".merge-moves")
    for text in ("1 Contacts", "1 Follow-ups", "1 Tasks"):
        expect(moves).to_contain_text(text)
    compare.locator('input[name="pick.name"][value="other"]').check()
    shots(manager, "07-merge-dialog")
    manager.get_by_role("button", name="Merge", exact=True).click()
    expect(manager.locator("input[name=confirm]:invalid")).to_have_count(1)  # not confirmed yet: nothing happens
    manager.get_by_label("Merge ACME 有限公司 into ACME有限责任公司").check()
    manager.get_by_role("button", name="Merge", exact=True).click()
    expect(manager.get_by_text("Merged. Contacts, follow-ups and tasks of the other customer are now here.")).to_be_visible()
    expect(manager.get_by_role("heading", name="ACME 有限公司", level=1)).to_be_visible()
    expect(field(manager, "Phone")).to_have_text("138 0013 8000")
    expect(field(manager, "Email")).to_have_text("info@acme.cn")
    assert manager.url.startswith(duplicate_url)
    shots(manager, "08-merged")
    manager.get_by_role("button", name="Undo", exact=True).click()
    expect(manager.get_by_text("Merge undone: both customers are back as they were.")).to_be_visible()
    expect(manager.get_by_role("heading", name="ACME有限责任公司", level=1)).to_be_visible()
    manager.get_by_role("link", name="Open the other customer").click()
    expect(manager.get_by_role("heading", name="ACME 有限公司", level=1)).to_be_visible()
    follow_menu_link(manager, "Customers")
    expect(manager.locator("table.records tbody tr")).to_have_count(2)
    shots(manager, "09-unmerged")

    # the churn job flags a customer that went quiet; the churn list says why
    quiet_customer(site, clock, "Blue Harbor Logistics")
    tomorrow = clock.now() + timedelta(days=1)  # today's daily run is done already: the job runs as `crm jobs run --now` would
    assert run_due_jobs(site, tomorrow, only="customers.flag_churn")[0].result == {"flagged": 1, "cleared": 0, "failed": 0}
    follow_menu_link(manager, "Churn risks")
    rows = manager.locator("table.churn-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Blue Harbor Logistics")
    expect(rows.first).to_contain_text(re.compile(r"dropped from \d+\.\d/month to 0\.0/month \(last 90 days: 0\)"))
    shots(manager, "10-churn-list")

    # the dashboard shows the plugin's widgets
    follow_menu_link(manager, "Dashboard")
    churn = manager.locator(".widget", has=manager.get_by_role("heading", name="Customers at churn risk"))
    expect(churn.locator(".big-number")).to_have_text(re.compile(r"^\s*1 customer\b"))
    for title in ("New customers by month", "Customers by level", "Customers by industry", "Customers by region"):
        expect(manager.locator(".widget", has=manager.get_by_role("heading", name=title)).locator("[data-chart] svg")).to_have_count(1)
    expect(manager.locator(".widget", has=manager.get_by_role("heading", name="Follow-up activity per rep"))).to_contain_text("Rep")
    shots(manager, "11-dashboard")
    assert manager.errors == []
    manager.context.close()


def quiet_customer(site: Any, clock: Any, name: str) -> dict[str, Any]:
    """An active customer of ``rep`` followed up every two weeks for a year, and not for the last 90 days."""
    owner = site.people["rep"]
    start = clock.now() - timedelta(days=460)
    customer = site.records.create(owner, "customers", {"name": name, "status": "active"})
    table = site.view.entity("customers").table
    with site.write() as conn:  # backdated, as an import of old data would be
        conn.execute(table.update().where(table.c.id == customer["id"]).values(created_at=start))
    at = start
    while at < clock.now() - timedelta(days=95):
        site.records.create(owner, "followups", {"customer_id": customer["id"], "method": "call", "followed_at": at})
        at += timedelta(days=14)
    return customer


def test_on_a_phone(browser, live_server, live_site, clock, shots):
    from playwright.sync_api import expect

    page = open_page(browser, live_server, "rep", PHONE)
    follow_menu_link(page, "Customers")
    page.get_by_role("link", name="New Customer").click()
    page.get_by_label(exactly("Name")).fill("杭州云帆科技有限公司")
    page.get_by_label("Unified social credit code").fill("123")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#f-credit_code-error")).to_contain_text("must be 18 characters, not 3")
    shots(page, "01-error")
    page.get_by_label("Unified social credit code").fill(VALID_CODE)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="杭州云帆科技有限公司", level=1)).to_be_visible()

    follow_menu_link(page, "Tasks")
    page.get_by_role("link", name="New Task").click()
    page.get_by_label(exactly("Title")).fill("回访客户")
    pick(page, "Customer", "杭州")
    page.get_by_label(exactly("Due")).fill("2026-01-05T16:00")  # an hour ago, in Shanghai
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    follow_menu_link(page, "My day")
    overdue = page.locator(".my-day-overdue")
    expect(overdue).to_contain_text("回访客户")
    expect(overdue.locator("thead")).to_be_hidden()  # rows are cards on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shots(page, "02-my-day")
    overdue.get_by_role("button", name="Mark 回访客户 done").click()
    expect(page.get_by_text("Task marked done.")).to_be_visible()
    expect(page.get_by_role("heading", name="Nothing due today.")).to_be_visible()

    page.locator(".topbar .lang").get_by_text("简体中文").click()
    expect(page.get_by_role("heading", name="我的一天", level=1)).to_be_visible()
    follow_menu_link(page, "流失预警")
    expect(page.get_by_role("heading", name="目前没有流失风险客户。")).to_be_visible()
    shots(page, "03-churn-empty-zh")
    assert page.errors == []
    page.context.close()
