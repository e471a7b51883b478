"""The funnel page in Chromium, desktop (1366 px) and phone (375 px): the ECharts funnel draws its stages,
the table lists them, and nothing scrolls sideways.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/pipeline/tests/test_funnel_browser.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel import Actor
from kernel.testing import browser, live_server, shots  # noqa: F401 - fixtures

from .support import SYSTEM, required_plugins
from .test_funnel import play

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-pass"


@pytest.fixture
def live_site(make_site, clock):
    site = make_site(*required_plugins(), default_locale="en")
    people = {}
    teams = {name: site.records.create(SYSTEM, "teams", {"name": name}) for name in ("North", "South")}
    for key, role, team in (("admin", "admin", None), ("manager", "sales_manager", "North"), ("rep", "sales_rep", "North"),
                            ("rep2", "sales_rep", "North"), ("outsider", "sales_rep", "South")):
        user = site.records.create(SYSTEM, "users", {"email": f"{key}@example.com", "name": key.title(), "role": role, "password": PASSWORD,
                                                     "team_id": teams[team]["id"] if team else None})
        people[key] = Actor(user_id=user["id"], label=user["email"], role=role, team_id=user["team_id"])
    play(site, people, clock)
    return site


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 375, "height": 812}])
def test_the_funnel_page_draws_its_chart(browser, live_server, live_site, viewport, shots):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("manager@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.goto(live_server + "/p/pipeline/funnel")
    expect(page.get_by_role("heading", name="Stage conversion analysis", level=1)).to_be_visible()
    chart = page.locator(".funnel-chart[data-drawn]")
    expect(chart).to_be_visible()
    expect(chart.locator("svg")).to_have_count(1)
    drawn: Any = chart.locator("svg").text_content()
    for stage in ("Inquiry 7", "Needs confirmed 4", "Quotation 4", "Won 2"):
        assert stage in drawn, drawn
    expect(page.locator("#funnel-table tbody tr")).to_have_count(8)
    shots(page, f"pipeline-funnel-{viewport['width']}")
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)")
    assert width <= viewport["width"] + 1, f"the page is {width} px wide: {wide}"
    assert errors == []
    context.close()
