"""The board in Chromium: drag a card to another column, see a refused move snap back, move by keyboard on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kernel import Actor, Vetoed
from kernel.testing import sign_in
from tests.example import plugin as notes_plugin
from tests.helpers import plugin_module
from tests.web.ui_extras import plugin as ui_extras

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("cli")
PASSWORD = "correct-horse-1"


def keep_locked_notes(entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "notes" and record["title"] == "Locked" and "status" in changes:
        raise Vetoed.at(["status"], "locked notes stay where they are")


@pytest.fixture
def live_site(make_site):
    """The usual browser site, plus a rule that refuses to move the note called "Locked"."""
    guard = plugin_module("board_guard", requires=("notes",), before_update=keep_locked_notes)
    return make_site(notes_plugin, ui_extras, guard, default_locale="en")


def signed_in_page(browser: Any, live_server: str, live_site: Any, viewport: dict[str, int]) -> Any:
    live_site.records.create(SYSTEM, "users", {"email": "boss@example.com", "name": "Boss", "password": PASSWORD, "role": "admin"})
    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server, "boss@example.com", PASSWORD)
    return page


def status_of(site: Any, note_id: int) -> str:
    return site.records.get(SYSTEM, "notes", note_id)["status"]


def test_drag_a_card_to_another_column_and_a_refused_move_snaps_back(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    movable = live_site.records.create(SYSTEM, "notes", {"title": "Movable"})
    locked = live_site.records.create(SYSTEM, "notes", {"title": "Locked"})
    page = signed_in_page(browser, live_server, live_site, {"width": 1280, "height": 800})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server + "/r/notes/kanban")
    lane = {name: page.locator(f'.lane[data-lane="{name}"]') for name in ("open", "done", "archived")}
    expect(lane["open"].locator("[data-lane-count]")).to_have_text("2")
    shots(page, "01-board")

    page.locator(f'.board-card[data-id="{movable["id"]}"] a').drag_to(lane["done"])  # grabbed by its title
    expect(page.locator("[data-board-status]")).to_have_text("Moved Movable to done.")
    expect(lane["done"].locator(f'.board-card[data-id="{movable["id"]}"]')).to_be_visible()
    expect(lane["done"].locator("[data-lane-count]")).to_have_text("1")
    expect(lane["open"].locator("[data-lane-count]")).to_have_text("1")
    expect(lane["done"].locator(".lane-empty")).to_be_hidden()
    assert status_of(live_site, movable["id"]) == "done"
    expect(page.locator("[data-board-error]")).to_be_hidden()
    shots(page, "02-moved")

    page.locator(f'.board-card[data-id="{locked["id"]}"] a').drag_to(lane["archived"])
    error = page.locator("[data-board-error]")
    expect(error).to_be_visible()
    expect(error).to_have_text("That card could not be moved. locked notes stay where they are")
    expect(lane["open"].locator(f'.board-card[data-id="{locked["id"]}"]')).to_be_visible()
    expect(lane["archived"].locator(".board-card")).to_have_count(0)
    expect(lane["archived"].locator("[data-lane-count]")).to_have_text("0")
    expect(lane["archived"].locator(".lane-empty")).to_be_visible()
    expect(lane["open"].locator("[data-lane-count]")).to_have_text("1")
    assert status_of(live_site, locked["id"]) == "open"
    shots(page, "03-refused")

    page.reload()  # what the page showed is what was stored
    expect(lane["done"].locator(f'.board-card[data-id="{movable["id"]}"]')).to_be_visible()
    expect(lane["open"].locator(f'.board-card[data-id="{locked["id"]}"]')).to_be_visible()
    assert problems == []


def test_on_a_phone_the_board_scrolls_and_the_move_button_works(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    note = live_site.records.create(SYSTEM, "notes", {"title": "Pocket"})
    page = signed_in_page(browser, live_server, live_site, {"width": 375, "height": 740})
    page.goto(live_server + "/r/notes/kanban")
    board = page.locator(".board")
    assert board.evaluate("node => node.scrollWidth > node.clientWidth")  # the columns scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the page itself does not
    card = page.locator(f'.board-card[data-id="{note["id"]}"]')
    card.get_by_label("Move Pocket to").select_option("archived")
    card.get_by_role("button", name="Move").click()
    archived = page.locator('.lane[data-lane="archived"]')
    expect(archived.locator(f'.board-card[data-id="{note["id"]}"]')).to_be_attached()
    expect(page.locator("[data-board-status]")).to_have_text("Moved Pocket to archived.")
    expect(page).to_have_url(re.compile(r"/r/notes/kanban$"))  # moved without leaving the page
    assert status_of(live_site, note["id"]) == "archived"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # still, with the board scrolled to the card
    shots(page, "01-phone")
