"""Every page of the demo, as an admin and as a sales rep, in both languages: no English catalog message
on a Chinese page, no Chinese outside user data on an English page, no code where words belong
(field keys, option and widget codes, ISO timestamps; see :mod:`kernel.pagescan`).

Other plugins' pages are walked too once they are enabled here; the scan follows every link it finds."""

from __future__ import annotations

from typing import Any

import pytest

from kernel import Actor
from kernel.testing import page_clients, scan_pages, seed_demo
from kernel.pagescan import _Text, english_messages, raw, raw_codes, stray_chinese, untranslated

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PEOPLE = {"admin": "admin@example.com", "rep": "li.na@example.com"}


@pytest.fixture
def demo(make_site):
    site = make_site(plugins=("customers",), default_locale="en")
    seed_demo(site)
    return site


def signed_in(site, email: str, locale: str) -> Any:
    """A client signed in as ``email`` with ``locale`` and Shanghai time, following redirects as a scan does."""
    return page_clients(site)(email, locale=locale, timezone="Asia/Shanghai", follow_redirects=True).client


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_demo_page_speaks_one_language(demo, who, locale):
    client = signed_in(demo, PEOPLE[who], locale)
    read, findings = scan_pages(client, demo, locale)
    assert len(read) > (150 if who == "admin" else 60), read
    assert {"/p/customers/my-day", "/p/customers/churn", "/r/customers/3/history", "/r/customers/3/activity"} <= set(read)
    if who == "admin":
        assert {"/admin/audit", "/admin/plugins", "/admin/settings", "/admin/dashboards", "/admin/option-lists"} <= set(read)
    assert [f"{f.path}: {f.text!r} ({f.why})" for f in findings] == []


def test_the_scan_finds_what_it_looks_for(demo):
    """The two checks, on text a page would show: they fail where they should."""
    messages = english_messages(demo)
    assert {"Audit log", "Save"} <= messages
    assert [f.text for f in untranslated("/x", ["审计日志", "Audit log", "Northwind Traders Ltd."], messages)] == ["Audit log"]
    data = ["杭州云帆科技有限公司"]
    found = stray_chinese("/x", ["杭州云帆科技有限公司", "Customer 杭州云帆科技有限公司", "客户 Northwind", "简体中文"], data)
    assert [f.text for f in found] == ["客户 Northwind"]


def test_the_scan_finds_codes_where_words_belong(demo):
    """Field keys, option and widget codes, identifiers, ISO timestamps and Python values are findings;
    what is shown as typed (``<code>``, ``translate="no"``) and allowed texts are not."""
    for locale in ("zh_CN", "en"):
        codes = raw_codes(demo, locale)
        assert {"last_followed_at", "customers.by_level", "company"} <= set(codes), locale
        texts = ["last_followed_at", "customers.by_level", "company", "2026-01-05T09:00:00+00:00", "17:00:00.123456", "True", "None", "a_b", "Northwind", "2026-01-05 09:00", "li.na@example.com"]
        assert [f.text for f in raw("/x", texts, codes)] == texts[:8]
        assert raw("/x", ["a_b"], codes, allow=["a_b"]) == []
    page = _Text()
    page.feed('<p>customers.by_level <code>customers.level</code> <span translate="no">sales_rep <b>x_y</b></span> <img alt="last_followed_at"></p>')
    assert page.texts == ["customers.by_level", "last_followed_at"]
    assert page.typed == ["customers.level", "sales_rep", "x_y"]


WORDS = {  # per language: a widget's name, an option list's user, a role, a level, a user's hidden field
    "zh_CN": ("客户级别分布", "客户 · 级别", "销售代表", "A 类（重点）", "密码（加密保存）"),
    "en": ("Customers by level", "Customer · Level", "Sales rep", "A – key account", "Password hash"),
}


@pytest.mark.parametrize("locale", list(WORDS))
def test_what_the_scan_caught_reads_in_words(demo, locale):
    """Widget codes on /admin/dashboards, fields as entity.key on /admin/option-lists, roles by key,
    levels by code on the churn list, and history rows by key: each in words now."""
    client = signed_in(demo, PEOPLE["admin"], locale)
    widget, used_by, role, level, hidden = WORDS[locale]
    dashboards = client.get("/admin/dashboards").text
    assert widget in dashboards and ">customers.by_level<" not in dashboards and "customers.by_level</span>" not in dashboards
    lists = client.get("/admin/option-lists").text
    assert used_by in lists and "customers.level, " not in lists and ">customers.level<" not in lists.replace("<code>customers.level</code>", "")
    roles = client.get("/r/roles").text
    assert f">{role}</a>" in roles and ">sales_rep</a>" not in roles
    sales_rep = demo.records.list(Actor.system("cli"), "roles", filters={"name": "sales_rep"}).items[0]
    assert f"<h1>{role}" in client.get(f"/r/roles/{sales_rep['id']}").text
    churn = client.get("/p/customers/churn").text
    assert f'<span class="tag">{level}</span>' in churn and '<span class="tag">A</span>' not in churn
    li_na = demo.records.list(Actor.system("cli"), "users", filters={"email": PEOPLE["rep"]}).items[0]
    demo.records.update(Actor.system("cli"), "users", li_na["id"], {"password": "another-pass"})
    history = client.get(f"/r/users/{li_na['id']}/history").text
    assert hidden in history and ">password_hash<" not in history
