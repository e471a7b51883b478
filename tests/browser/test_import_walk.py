"""The web import in Chromium on a desktop: upload, check, check again, import, with the worker run between steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kernel import Actor, tasks
from kernel.testing import run_due_tasks, sign_in

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-1"
DESKTOP = {"width": 1366, "height": 900}


def test_check_again_then_import_and_the_preview_header_covers_no_row(browser, live_server, live_site, shots, tmp_path: Path):
    """A check's progress reloads the page when it is done: after "Check again" (a POST) that reload must be a
    GET, or the browser would send the form again and queue another check each time (the Import button never
    came back). The first rows' table scrolls sideways in its own box, where a sticky header would cover a row."""
    from playwright.sync_api import expect

    live_site.records.create(Actor.system("cli"), "users", {"email": "boss@example.com", "name": "Boss", "password": PASSWORD, "role": "admin"})
    sheet = tmp_path / "notes.csv"
    sheet.write_text("title,priority\nCall ACME,2\nCall Huawei,9\nLunch,1\n", encoding="utf-8")
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "boss@example.com", PASSWORD)

    page.goto(live_server + "/r/notes/import")
    page.set_input_files("input[type=file]", str(sheet))
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_text("Checking every row…")).to_be_visible()
    run_due_tasks(live_site)
    expect(page.get_by_text("1 row is invalid, so nothing will be imported.")).to_be_visible()
    importing = page.locator("button[value=import]")
    expect(importing).to_be_disabled()
    header, first = page.locator(".import-preview thead th").first.bounding_box(), page.locator(".import-preview tbody tr").first.bounding_box()
    assert header is not None and first is not None and header["y"] + header["height"] <= first["y"] + 0.5
    shots(page, "01-checked")

    page.get_by_label("Import the valid rows and skip the invalid ones").check()
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_text("Checking every row…")).to_be_visible()
    assert "/import/" in page.url and _queued(live_site) == 1
    run_due_tasks(live_site)
    expect(importing).to_be_enabled()
    expect(importing).to_have_text("Import 2 records")
    page.wait_for_timeout(1500)  # a reload that sent the form again would have queued a check by now
    assert _queued(live_site) == 0
    shots(page, "02-rechecked")

    importing.click()
    run_due_tasks(live_site)
    expect(page.get_by_text("Imported 2 records.")).to_be_visible()
    assert sorted(n["title"] for n in live_site.records.list(Actor.system(), "notes").items) == ["Call ACME", "Lunch"]
    shots(page, "03-imported")
    assert problems == []
    context.close()



def _queued(site: Any) -> int:
    return int(tasks.list_tasks(site, Actor.system(), status=tasks.QUEUED)["total"])
