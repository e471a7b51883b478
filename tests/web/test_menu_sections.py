"""With every business plugin on, a sales rep's menu reads in sections, each plugin's pages under its own
heading: 销售 (the day's work), 线索, 客户 (with the sea), 商机, 池管理 (every kind's pools) — not one long list."""

from __future__ import annotations

import re

import pytest

from kernel.testing import make_people, page_clients

SECTION = re.compile(r'<p class="nav-section"[^>]*data-section="(\w+)">([^<]+)</p>')


@pytest.mark.parametrize("locale, headings", [
    ("zh_CN", ["销售", "线索", "客户", "商机", "池管理"]),
    ("en", ["Sales", "Leads", "Customers", "Opportunities", "Pool management"]),
])
def test_each_plugin_has_its_own_heading(make_site, locale, headings):
    site = make_site(plugins=("customers", "pools", "sea", "leads", "pipeline"))
    client, _ = page_clients(site)(make_people(site)["rep"], locale=locale, follow_redirects=True)
    page = client.get("/").text
    nav = page[page.index("<nav"):page.index("</nav>")]
    assert [label for _, label in SECTION.findall(nav)] == headings
    items = dict(re.findall(r'<a href="([^"]+)"[^>]*data-section="(\w+)"', nav))
    assert items["/r/leads"] == items["/p/pools/?entity=leads"] == items["/p/leads/reports"] == "leads"
    assert items["/r/opportunities"] == items["/p/pipeline/board"] == items["/p/pipeline/forecast"] == "opportunities"
    assert items["/p/pools/holdings"] == items["/p/pools/reports"] == "pools"
    assert items["/r/customers"] == items["/p/pools/?entity=customers"] == "customers"
