"""The funnel page in Chromium, desktop (1366 px) and phone (375 px): the ECharts funnel draws its stages,
the table lists them, and nothing scrolls sideways.

Run with ``CRM_TEST_PORTS=… pytest -m browser plugins/pipeline/tests/test_funnel_browser.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel.testing import (  # noqa: F401 - fixtures
    PHONE, TEST_PASSWORD, assert_no_sideways_scroll, browser, live_server, make_people, new_page, shots, sign_in,
)

from .support import SYSTEM, required_plugins
from .test_funnel import play

pytestmark = pytest.mark.browser


@pytest.fixture
def live_site(make_site, clock):
    site = make_site(*required_plugins(), default_locale="en")
    people = make_people(site)
    site.records.update(SYSTEM, "users", people["manager"].user_id, {"password": TEST_PASSWORD})
    play(site, people, clock)
    return site


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, PHONE])
def test_the_funnel_page_draws_its_chart(browser, live_server, live_site, viewport, shots):
    from playwright.sync_api import expect

    page = sign_in(new_page(browser, viewport), live_server, "manager@example.com", TEST_PASSWORD)
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
    assert_no_sideways_scroll(page)
    assert page.errors == []
    page.context.close()
