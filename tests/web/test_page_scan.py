"""Every page of the demo, as an admin and as a sales rep, in both languages: no English catalog message
on a Chinese page, no Chinese outside user data on an English page (see :mod:`kernel.pagescan`).

Other plugins' pages are walked too once they are enabled here; the scan follows every link it finds."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from kernel import Actor
from kernel.testing import create_app, scan_pages, seed_demo
from kernel.pagescan import english_messages, stray_chinese, untranslated

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PEOPLE = {"admin": "admin@example.com", "rep": "li.na@example.com"}


@pytest.fixture
def demo(make_site):
    site = make_site(plugins=("customers",), default_locale="en")
    seed_demo(site)
    system = Actor.system("cli")
    for email in PEOPLE.values():
        user = site.records.list(system, "users", filters={"email": email}).items[0]
        site.records.update(system, "users", user["id"], {"password": PASSWORD})
    return site


def signed_in(site, email: str, locale: str) -> TestClient:
    client = TestClient(create_app(site=site), follow_redirects=True)
    client.cookies.set("crm_locale", locale)
    client.cookies.set("crm_tz", "Asia/Shanghai")
    token = CSRF.search(client.get("/login").text).group(1)
    client.post("/login", data={"email": email, "password": PASSWORD, "next": "/", "csrf_token": token})
    return client


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_demo_page_speaks_one_language(demo, who, locale):
    client = signed_in(demo, PEOPLE[who], locale)
    read, findings = scan_pages(client, demo, locale)
    assert len(read) > (25 if who == "admin" else 12), read
    if who == "admin":
        assert {"/admin/audit", "/admin/plugins", "/admin/settings"} <= set(read)
    assert [f"{f.path}: {f.text!r} ({f.why})" for f in findings] == []


def test_the_scan_finds_what_it_looks_for(demo):
    """The two checks, on text a page would show: they fail where they should."""
    messages = english_messages(demo)
    assert {"Audit log", "Save"} <= messages
    assert [f.text for f in untranslated("/x", ["审计日志", "Audit log", "Northwind Traders Ltd."], messages)] == ["Audit log"]
    data = ["杭州云帆科技有限公司"]
    found = stray_chinese("/x", ["杭州云帆科技有限公司", "Customer 杭州云帆科技有限公司", "客户 Northwind", "简体中文"], data)
    assert [f.text for f in found] == ["客户 Northwind"]
