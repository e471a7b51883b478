"""A public form in Chromium on a 375-px phone: no sign-in, fits the screen, errors by their fields, sent."""

from __future__ import annotations

import pytest

from kernel import Actor, forms

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("cli")
PHONE = {"width": 375, "height": 740}


def test_a_visitor_fills_in_a_public_form_on_a_phone(browser, live_server, live_site, shots):
    from playwright.sync_api import expect

    forms.create(live_site, SYSTEM, {
        "slug": "contact", "entity": "notes", "title": {"en": "Contact us", "zh_CN": "联系我们"},
        "fields": [{"name": "title", "label": {"en": "Your name", "zh_CN": "您的姓名"}},
                   {"name": "body", "label": {"en": "Message", "zh_CN": "留言"}, "required": True}],
        "consent": {"en": "You may contact me.", "zh_CN": "同意联系我。"},
    })
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server + "/public/forms/contact")
    expect(page.get_by_role("heading", name="联系我们")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("nav").count() == 0  # no sign-in chrome
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Contact us")).to_be_visible()
    expect(page.locator("#f-hp_website")).not_to_be_in_viewport()
    page.get_by_label("Your name").fill("Ann")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Nothing was sent. Please correct the marked fields.")).to_be_visible()
    expect(page.locator("#f-body-error")).to_be_visible()
    expect(page.locator("#consent-error")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Ann")
    shots(page, "01-public-form-errors")
    page.get_by_label("Message").fill("Please call me back")
    page.get_by_label("You may contact me.").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you! We have received your details.")
    shots(page, "02-public-form-sent")
    [note] = live_site.records.list(SYSTEM, "notes").items
    assert (note["title"], note["body"]) == ("Ann", "Please call me back")
    assert problems == []
    context.close()
