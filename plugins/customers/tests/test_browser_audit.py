"""The audit log in Chromium, in Chinese and in English, on a 1366-px desktop and a 375-px phone: entries in words,
one page of 25, no horizontal scrolling, and emails and addresses never broken mid-word.

Run with ``pytest -m browser plugins/customers``."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.testing import browser, live_server, make_people, shots, sign_in  # noqa: F401 - fixtures

from .conftest import SYSTEM

pytestmark = pytest.mark.browser
PASSWORD = "s3cret-pass"
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}
#: per language: the browser's locale, the action's tag, the field, its new value, the pager
WORDS = {
    "zh_CN": ("zh-CN", "修改", "流失预警", "是", "第 1 页，共 3 页"),
    "en": ("en-US", "Changed", "Churn risk", "Yes", "Page 1 of 3"),
}


@pytest.fixture
def live_site(make_site):
    site = make_site(plugins=("customers",), default_locale="zh_CN")
    people = make_people(site)
    site.records.update(SYSTEM, "users", people["admin"].user_id, {"password": PASSWORD})
    for n in range(30):  # more than a page
        made = site.records.create(people["rep"], "customers", {"name": f"杭州云帆科技有限公司 {n:02d}", "email": f"very.long.mailbox.name.{n}@subsidiary.example.com"})
        site.records.update(people["rep"], "customers", made["id"], {"churn_flag": True, "level": "B"})
    return site


@pytest.mark.parametrize("language", list(WORDS))
@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_the_audit_log_reads_well_on_a_desktop_and_a_phone(browser, live_server, shots, device, language):
    from playwright.sync_api import expect

    viewport = VIEWPORTS[device]
    browser_locale, action, field, value, pages = WORDS[language]
    context = browser.new_context(viewport=viewport, locale=browser_locale, timezone_id="Asia/Shanghai")
    context.add_cookies([{"name": "crm_locale", "value": language, "url": live_server}])
    page: Any = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server, "admin@example.com", PASSWORD)
    page.goto(live_server + "/admin/audit?entity=customers")
    expect(page.locator(".audit-entry")).to_have_count(25)
    first = page.locator(".audit-entry").first
    expect(first.locator(".audit-who")).to_have_text("Rep")
    expect(first.locator(".tag")).to_have_text(action)
    expect(first).to_contain_text(field)
    expect(first).to_contain_text(value)
    expect(page.locator(".pager")).to_contain_text(pages)
    shots(page, f"audit-{device}-{language}")
    width = page.evaluate("document.documentElement.scrollWidth")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert width <= viewport["width"], "the page scrolls sideways"
    assert height < 9000, f"{height} px tall"
    # names, emails and IPs, and each change's value, stay on one line (a long one ends in an ellipsis)
    heights = page.evaluate("""() => [...document.querySelectorAll('.audit-who, .audit-nowrap, .change-summary .new, .change-summary .old')]
        .map(e => [e.getClientRects().length, e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight || 20)])""")
    assert heights and all(rects == 1 and lines < 1.6 for rects, lines in heights), "a name, email, IP or value broke across lines"
    emails = page.locator(".change-summary .new", has_text="very.long.mailbox")
    assert emails.count() >= 1 and emails.first.get_attribute("title").endswith("@subsidiary.example.com")
    context.close()
