"""The background tasks pages in Chromium on a 375-px phone: the progress bar moves without a reload."""

from __future__ import annotations

import threading

import pytest

from kernel import Actor, enqueue_task
from kernel.testing import run_due_tasks, sign_in
from tests import taskwork
from tests.example import plugin as notes_plugin
from tests.taskwork import PATIENCE, Gate

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-1"
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def live_site(make_site):
    taskwork.reset()
    return make_site(notes_plugin, taskwork.plugin, default_locale="en")


def test_a_running_task_shows_its_progress_then_its_result_on_a_phone(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    user = live_site.records.create(Actor.system("cli"), "users", {"email": "rep@example.com", "name": "Rep", "password": PASSWORD, "role": "sales_rep"})
    rep = Actor(user_id=user["id"], label=user["email"], role="sales_rep")
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "rep@example.com", PASSWORD)

    page.goto(live_server + "/background-tasks")
    expect(page.get_by_text("No background tasks.")).to_be_visible()

    task_id = enqueue_task(live_site, "work.count", {"steps": 4, "gate": "g"}, actor=rep)
    gate = Gate("g")
    worker = threading.Thread(target=run_due_tasks, args=(live_site,))
    worker.start()
    try:
        assert gate.started.wait(PATIENCE)
        page.goto(live_server + "/background-tasks")
        expect(page.locator("table.records tbody tr")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shots(page, "01-list")
        page.get_by_role("link", name=f"Count #{task_id}").click()
        expect(page.locator(".task-status")).to_have_text("Running")
        expect(page.locator("#task-card progress")).to_have_attribute("value", "25")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shots(page, "02-running")
    finally:
        gate.release.set()
        worker.join(PATIENCE)
    # the card polls: it turns to done without a reload, and stops polling
    expect(page.locator(".task-status")).to_have_text("Done")
    expect(page.locator("#task-card progress")).to_have_attribute("value", "100")
    expect(page.locator(".task-result")).to_contain_text('"steps": 4')
    assert page.locator("#task-card[hx-trigger]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shots(page, "03-done")
    assert problems == []
    context.close()
