"""With every business plugin on, a sales rep's menu reads in sections, each plugin's pages under its own
heading: 销售 (the day's work), 线索, 客户 (with the sea), 商机, 池管理 (every kind's pools) — not one long list."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from kernel import Actor
from kernel.testing import create_app

PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECTION = re.compile(r'<p class="nav-section"[^>]*data-section="(\w+)">([^<]+)</p>')


@pytest.mark.parametrize("locale, headings", [
    ("zh_CN", ["销售", "线索", "客户", "商机", "池管理"]),
    ("en", ["Sales", "Leads", "Customers", "Opportunities", "Pool management"]),
])
def test_each_plugin_has_its_own_heading(make_site, locale, headings):
    site = make_site(plugins=("customers", "pools", "sea", "leads", "pipeline"))
    system = Actor.system("cli")
    site.records.create(system, "users", {"email": "rep@example.com", "name": "Rep", "role": "sales_rep", "password": PASSWORD})
    client = TestClient(create_app(site=site), follow_redirects=True)
    client.cookies.set("crm_locale", locale)
    token = CSRF.search(client.get("/login").text).group(1)
    client.post("/login", data={"email": "rep@example.com", "password": PASSWORD, "next": "/", "csrf_token": token})
    page = client.get("/").text
    nav = page[page.index("<nav"):page.index("</nav>")]
    assert [label for _, label in SECTION.findall(nav)] == headings
    items = dict(re.findall(r'<a href="([^"]+)"[^>]*data-section="(\w+)"', nav))
    assert items["/r/leads"] == items["/p/pools/?entity=leads"] == items["/p/leads/reports"] == "leads"
    assert items["/r/opportunities"] == items["/p/pipeline/board"] == items["/p/pipeline/forecast"] == "opportunities"
    assert items["/p/pools/holdings"] == items["/p/pools/reports"] == "pools"
    assert items["/r/customers"] == items["/p/pools/?entity=customers"] == "customers"
