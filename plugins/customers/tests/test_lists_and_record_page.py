"""Issue 15, lists, menu and record page: each observation as a test on the pages a person uses.

1. a colleague's follow-up on a rep's customer is visible on every page (list, related card,
   activity, My day, search, export); 3. reference filters pick by name, ids get no range;
   5. a long value is cut in the list with the whole of it on hover; 6. adding custom fields
   keeps the default columns, the column chooser and page size are kept in saved views, sort
   marks and page numbers; 7. the menu's order and sections do not change with the language;
   8. a contact, follow-up or task created from a customer's page lands back on the customer.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest

from kernel.testing import browse, page_clients, text_of  # noqa: F401 - fixture

LONG_NAME = "上海" + "非常长的客户名称" * 20 + "有限公司"


@pytest.fixture
def colleagues_plan(site, people, clock):
    """The 李娜 case: ``rep``'s own customer (not shared) on which her manager logged a follow-up
    planned for today: the customer shows "last followed up", so its follow-ups must show too."""
    acme = site.records.create(people["rep"], "customers", {"name": "ACME 李娜的客户", "phone": "0571-8888-1234", "email": "info@acme.cn"})
    followup = site.records.create(
        people["manager"], "followups",
        {"customer_id": acme["id"], "method": "visit", "content": "manager visited zebra", "next_at": clock.now() + timedelta(hours=2)},
    )
    assert followup["owner_id"] == people["manager"].user_id
    return acme, followup


# -- observation 1: visible through the customer, on every page ------------------------------


def test_obs1_the_follow_ups_list_shows_the_colleagues_follow_up(site, people, browse, colleagues_plan):
    client, _ = browse(people["rep"])
    page = client.get("/r/followups").text
    assert "manager visited zebra" in page
    assert re.search(r'<span class="count">1</span>', page)


def test_obs1_the_customers_related_card_counts_it(site, people, browse, colleagues_plan):
    acme, followup = colleagues_plan
    client, _ = browse(people["rep"])
    page = client.get(f"/r/customers/{acme['id']}").text
    card = page[page.index('id="related-followups-customer_id"'):]
    assert re.match(r'id="related-followups-customer_id">[^<]*<span class="count">1</span>', card)
    assert f"/r/followups/{followup['id']}" in card


def test_obs1_the_activity_tab_lists_it(site, people, browse, colleagues_plan):
    acme, _ = colleagues_plan
    client, _ = browse(people["rep"])
    assert "manager visited zebra" in client.get(f"/r/customers/{acme['id']}/activity").text


def test_obs1_my_day_shows_a_colleagues_plan_on_my_customer(site, people, browse, colleagues_plan):
    acme, followup = colleagues_plan
    client, _ = browse(people["rep"])
    page = client.get("/p/customers/my-day").text
    assert "ACME 李娜的客户" in page and "manager visited zebra" in page
    assert "Planned by Manager" in text_of(page) or "由 Manager 计划" in text_of(page)
    outsider, _ = browse(people["outsider"])  # not her customer, not her plan: not in her day
    assert "manager visited zebra" not in outsider.get("/p/customers/my-day").text


def test_obs1_logging_a_colleagues_plan_from_my_day_keeps_their_plan(site, people, browse, colleagues_plan):
    acme, followup = colleagues_plan
    client, token = browse(people["rep"])
    answer = client.post(f"/p/customers/my-day/followups/{followup['id']}/done", data={"csrf_token": token, "method": "call", "content": "called back"})
    assert answer.status_code == 303
    logged = site.records.list(people["rep"], "followups", filters={"customer_id": acme["id"]}).items
    assert {f["content"] for f in logged} == {"manager visited zebra", "called back"}
    assert site.records.get(people["manager"], "followups", followup["id"])["next_at"] is not None


def test_obs1_search_finds_it(site, people, browse, colleagues_plan):
    client, _ = browse(people["rep"])
    assert "manager visited zebra" in client.get("/search", params={"q": "zebra"}).text


def test_obs1_export_contains_it(site, people, browse, colleagues_plan):
    client, token = browse(people["rep"])
    answer = client.post("/r/followups/export", data={"format": "csv", "csrf_token": token})
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert any("manager visited zebra" in cell for row in rows[1:] for cell in row)


# -- observation 3: filters by name ---------------------------------------------------------


def add_field(http, people, name, schema, label):
    """An admin adds a custom field to customers, as the API does."""
    answer = http(people["admin"]).post("/api/v1/meta/entities/customers/fields", json={"name": name, "schema": schema, "label": label})
    assert answer.status_code == 201, answer.text


def test_obs3_owner_team_and_custom_references_are_picked_by_name(site, people, browse, http):
    add_field(http, people, "account_manager", {"type": "integer", "format": "reference", "x-entity": "users"}, {"en": "Account manager", "zh_CN": "客户经理"})
    acme = site.records.create(people["rep"], "customers", {"name": "ACME", "custom": {"account_manager": people["manager"].user_id}})
    site.records.create(people["rep2"], "customers", {"name": "Other Co"})
    client, _ = browse(people["manager"])
    page = client.get("/r/customers").text
    for key in ("owner_id", "team_id", "custom.account_manager"):
        assert f'name="f.{key}" value="" data-picker-value' in page, key
        assert not re.search(rf'<input type="number"[^>]*name="f\.{re.escape(key)}"', page)
    assert "f.sea_id" not in page  # an id of a plugin that is not there: no numeric range
    assert 'hx-get="/r/users/lookup"' in page and 'hx-get="/r/teams/lookup"' in page
    chosen = client.get("/r/customers", params={"f.owner_id": people["rep"].user_id}).text
    assert 'value="Rep" placeholder' in chosen  # the picked owner shows by name
    assert "ACME" in chosen and "Other Co" not in chosen
    by_custom = client.get("/r/customers", params={"f.custom.account_manager": people["manager"].user_id}).text
    assert 'value="Manager" placeholder' in by_custom and f"/r/customers/{acme['id']}" in by_custom


# -- observations 5 (list side) and 6: columns ----------------------------------------------


def test_obs5_a_long_name_is_cut_with_the_whole_name_on_hover(site, people, browse):
    site.records.create(people["rep"], "customers", {"name": LONG_NAME, "phone": "13800138000", "email": "a@b.cn"})
    page = client_page(browse, people["rep"], "/r/customers")
    link = re.search(r'<a class="record-link cell-text" href="/r/customers/\d+" title="([^"]+)"[^>]*>', page)
    assert link and unescape(link.group(1)) == LONG_NAME
    assert re.search(r'<a class="cell-text" href="tel:\+8613800138000" title="138 0013 8000">', page)  # E.164 dialled, shown the local way


def client_page(browse, who, url, **params):
    client, _ = browse(who)
    answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


def headers(page: str) -> list[str]:
    head = page[page.index("<thead>"):page.index("</thead>")]
    return [text_of(h).strip().rstrip("▲▼↕ ").strip() for h in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", head, re.S)][1:]


def test_obs6_custom_fields_do_not_push_default_columns_out(site, people, browse, http):
    site.records.create(people["rep"], "customers", {"name": "ACME", "industry": "软件", "region": "浙江"})
    before = headers(client_page(browse, people["rep"], "/r/customers"))
    assert {"Industry", "Region"} <= set(before) or {"行业", "地区"} <= set(before)
    for name in ("budget_code", "referrer"):
        add_field(http, people, name, {"type": "string", "maxLength": 40}, {"en": name.title(), "zh_CN": name})
    after = headers(client_page(browse, people["rep"], "/r/customers"))
    assert after[: len(before)] == before  # every default column stays, in its place
    assert after[len(before):] == ["Budget_code", "Referrer"] or after[len(before):] == ["budget_code", "referrer"]


def test_obs6_the_declared_columns_come_from_the_entity(site):
    assert site.view.entity("customers").list_columns[:4] == ("name", "level", "industry", "region")


def test_obs6_the_column_chooser_and_page_size_are_kept_in_a_saved_view(site, people, browse):
    for n in range(55):
        site.records.create(people["rep"], "customers", {"name": f"Customer {n:02}", "phone": f"1380013{n:04}"})
    client, token = browse(people["rep"])
    page = client.get("/r/customers").text
    assert 'name="cols" value="phone"' in page and 'name="cols" value="industry"' in page  # the chooser offers the fields
    chosen = client.get("/r/customers", params={"cols": ["name", "phone"], "size": "50"}).text
    assert headers(chosen) == ["Name", "Phone"] or headers(chosen) == ["名称", "电话"]
    assert chosen.count('<input type="checkbox" name="ids"') == 50
    saved = client.post("/r/customers/views?cols=name%2Cphone&size=50", data={"csrf_token": token, "name": "Phones"})
    assert saved.status_code == 303 and "cols=name%2Cphone" in saved.headers["location"] and "size=50" in saved.headers["location"]
    views = client.get("/r/customers").text
    assert re.search(r'href="/r/customers\?cols=name%2Cphone&amp;size=50" >Phones</a>', views)


def test_obs6_sortable_headers_carry_a_mark_and_aria_sort(site, people, browse):
    site.records.create(people["rep"], "customers", {"name": "ACME"})
    page = client_page(browse, people["rep"], "/r/customers")
    heads = re.findall(r'<th scope="col"([^>]*)>(.*?)</th>', page, re.S)
    sortable = [h for h in heads if "sortable" in h[0]]
    assert len(sortable) >= 5 and all('aria-sort="none"' in attrs and "↕" in body for attrs, body in sortable)
    by_name = client_page(browse, people["rep"], "/r/customers", sort="-name")
    assert re.search(r'aria-sort="descending" class="sortable is-sorted">\s*<a[^>]*>[^<]*<span class="sort-mark" aria-hidden="true">▼', by_name)


def test_obs6_page_numbers_respect_a_capped_total(make_site, people_for):
    site = make_site(plugins=("customers",), count_cap=45)
    people = people_for(site)
    for n in range(60):
        site.records.create(people["rep"], "customers", {"name": f"C{n:02}"})
    client, _ = page_clients(site)(people["rep"])
    page = client.get("/r/customers", params={"page": 2}).text
    assert '<span class="count">45+</span>' in page
    numbers = re.findall(r'class="btn (?:btn-primary )?page-number"[^>]*>(\d+)</a>', page)
    assert numbers == ["1", "2", "3"]  # no last page: past the cap it is not known
    assert 'aria-current="page">2</a>' in page and 'rel="next"' in page
    exact = client.get("/r/customers", params={"size": 50}).text
    assert re.findall(r'class="btn (?:btn-primary )?page-number"[^>]*>(\d+)</a>', exact) == ["1"]


def test_quick_create_makes_a_record_from_its_name_and_stays_on_the_list(site, people, browse):
    client, token = browse(people["rep"])
    page = client.get("/r/customers", params={"sort": "name"}).text
    assert 'class="quick-create"' in page and 'name="_back" value="/r/customers?sort=name"' in page
    answer = client.post("/r/customers/new", data={"csrf_token": token, "name": "Quick Co", "_back": "/r/customers?sort=name"})
    created = site.records.list(people["rep"], "customers", filters={"name": "Quick Co"}).items[0]
    assert answer.status_code == 303 and answer.headers["location"] == f"/r/customers?sort=name&added=customers&added_id={created['id']}"
    assert created["owner_id"] == people["rep"].user_id
    assert "quick-create" not in client_page(browse, people["rep"], "/r/followups")  # a follow-up needs more than its text


# -- observation 7: the menu ----------------------------------------------------------------


def menu_urls(page: str) -> list[tuple[str, str]]:
    nav = page[page.index('<aside class="sidebar">'):]
    nav = nav[: nav.index("</nav>")]
    return re.findall(r'<a href="([^"]+)" (?:aria-current="page" )?data-section="(\w+)"', nav)


def test_obs7_the_menu_keeps_its_order_and_sections_in_both_languages(site, people, browse):
    client, token = browse(people["rep"])
    english = client.post("/lang", data={"to": "en", "next": "/", "csrf_token": token})
    assert english.status_code == 303
    en = client.get("/").text
    client.post("/lang", data={"to": "zh_CN", "next": "/", "csrf_token": token})
    zh = client.get("/").text
    assert menu_urls(en) == menu_urls(zh) == [
        ("/p/customers/my-day", "sales"), ("/r/followups", "sales"), ("/r/tasks", "sales"),
        ("/r/customers", "customers"), ("/r/contacts", "customers"), ("/p/customers/churn", "customers"),
    ]
    assert re.search(r'data-section="sales">Sales</p>.*data-section="customers">Customers</p>', en, re.S)
    assert re.search(r'data-section="sales">销售</p>.*data-section="customers">客户</p>', zh, re.S)


def test_obs7_admins_find_the_admin_pages_under_system_last(site, people, browse):
    page = client_page(browse, people["admin"], "/")
    sections = re.findall(r'<p class="nav-section" id="nav-(\w+)"', page[page.index('<aside class="sidebar">'):])
    assert sections == ["sales", "customers", "system"]


# -- observation 8 and the record page ---------------------------------------------------------


@pytest.mark.parametrize("entity, values", [
    ("contacts", {"name": "Li Lei"}),
    ("followups", {"method": "call", "content": "first call"}),
    ("tasks", {"title": "send the quote"}),
])
def test_obs8_a_child_created_from_the_customers_page_lands_back_on_it(site, people, browse, entity, values):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME"})
    client, token = browse(people["rep"])
    page = client.get(f"/r/customers/{acme['id']}").text
    new_link = re.search(rf'href="(/r/{entity}/new\?customer_id={acme["id"]}&amp;_back=[^"]+)"', page)
    assert new_link, f"no New link for {entity}"
    form = client.get(unescape(new_link.group(1))).text
    assert f'name="_back" value="/r/customers/{acme["id"]}"' in form
    answer = client.post(f"/r/{entity}/new", data={"csrf_token": token, "customer_id": acme["id"], "_back": f"/r/customers/{acme['id']}", **values})
    assert answer.status_code == 303, answer.text
    created = site.records.list(people["rep"], entity, filters={"customer_id": acme["id"]}).items[0]
    assert answer.headers["location"] == f"/r/customers/{acme['id']}?added={entity}&added_id={created['id']}"
    back = client.get(answer.headers["location"]).text
    assert f'href="/r/{entity}/{created["id"]}">Open it</a>' in back or f'href="/r/{entity}/{created["id"]}">打开</a>' in back


def test_a_refused_child_shows_its_form_again_and_still_goes_back(site, people, browse):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME"})
    client, token = browse(people["rep"])
    refused = client.post("/r/tasks/new", data={"csrf_token": token, "customer_id": acme["id"], "_back": f"/r/customers/{acme['id']}", "title": ""})
    assert refused.status_code == 422 and f'name="_back" value="/r/customers/{acme["id"]}"' in refused.text
    elsewhere = client.post("/r/tasks/new", data={"csrf_token": token, "title": "t", "_back": "https://evil.example/"})
    assert elsewhere.status_code == 303 and elsewhere.headers["location"].startswith("/r/tasks/")


def test_the_customer_page_has_a_summary_header_and_phone_and_mail_links(site, people, browse):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME", "level": "A", "status": "active", "phone": "+86 571 8888 1234", "email": "info@acme.cn"})
    page = client_page(browse, people["rep"], f"/r/customers/{acme['id']}")
    head = page[page.index('<div class="record-summary">'):page.index('<div class="page-actions">', page.index('record-summary'))]
    assert re.search(r"<h1>ACME <span class=\"tag state-badge\" data-state=\"active\">(Active|活跃)</span></h1>", head)
    assert re.search(r"<dt>(Owner|负责人)</dt><dd>Rep</dd>", head) and re.search(r"<dt>(Level|级别)</dt><dd>.*?(A – key account|A 类（重点）)</dd>", head)
    assert 'href="tel:+8657188881234"' in head and 'href="mailto:info@acme.cn"' in head
    assert 'href="tel:+8657188881234"' in page[page.index('id="field-f-phone"'):]


def test_the_log_box_logs_a_follow_up_with_its_next_date_and_comes_back(site, people, browse, clock):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME"})
    client, token = browse(people["rep"])
    page = client.get(f"/r/customers/{acme['id']}").text
    box = page[page.index('id="log-followups"'):page.index("</details>", page.index('id="log-followups"'))]
    assert 'action="/r/followups/new"' in box and f'name="customer_id" value="{acme["id"]}"' in box
    assert 'name="method"' in box and 'name="next_at"' in box and 'name="content"' in box
    answer = client.post("/r/followups/new", data={
        "csrf_token": token, "_back": f"/r/customers/{acme['id']}", "customer_id": acme["id"],
        "method": "wechat", "content": "asked for a quote", "next_at": "2026-01-09T10:00",
    })
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/r/customers/{acme['id']}?added=followups")
    logged = site.records.list(people["rep"], "followups", filters={"customer_id": acme["id"]}).items[0]
    assert logged["method"] == "wechat" and logged["next_at"] is not None
    assert site.records.get(people["rep"], "customers", acme["id"])["last_followed_at"] is not None


def test_a_field_changes_inline_with_the_version_the_page_showed(site, people, browse):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME", "level": "B"})
    client, token = browse(people["rep"])
    page = client.get(f"/r/customers/{acme['id']}").text
    version = re.search(r'name="_version" value="([^"]+)"', page).group(1)
    assert 'action="/r/customers/%d/inline"' % acme["id"] in page and 'name="_field" value="level"' in page
    assert 'name="_field" value="owner_id"' not in page  # the owner changes hands through assign
    assert 'name="_field" value="last_followed_at"' not in page and 'name="_field" value="churn_reason"' not in page  # read-only
    refused = client.post(f"/r/customers/{acme['id']}/inline", data={"csrf_token": token, "_field": "churn_reason", "_version": unescape(version), "churn_reason": "x"})
    assert refused.status_code >= 400 and site.records.get(people["rep"], "customers", acme["id"])["churn_reason"] in (None, "")
    answer = client.post(f"/r/customers/{acme['id']}/inline", data={"csrf_token": token, "_field": "level", "_version": unescape(version), "level": "A"})
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/r/customers/{acme['id']}?saved=1")
    assert site.records.get(people["rep"], "customers", acme["id"])["level"] == "A"
    stale = client.post(f"/r/customers/{acme['id']}/inline", data={"csrf_token": token, "_field": "level", "_version": unescape(version), "level": "C"})
    assert stale.status_code == 409
    assert "was not changed" in text_of(stale.text) or "未被修改" in text_of(stale.text)
    assert site.records.get(people["rep"], "customers", acme["id"])["level"] == "A"


def test_an_inline_change_is_refused_with_the_fields_reason(site, people, browse):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME"})
    client, token = browse(people["rep"])
    answer = client.post(f"/r/customers/{acme['id']}/inline", data={"csrf_token": token, "_field": "email", "email": "not-an-email"})
    assert answer.status_code == 422 and 'id="inline-error"' in answer.text
    assert client.post(f"/r/customers/{acme['id']}/inline", data={"csrf_token": token, "_field": "owner_id", "owner_id": "1"}).status_code == 404
    colleague, colleague_token = browse(people["outsider"])
    assert colleague.post(f"/r/customers/{acme['id']}/inline", data={"csrf_token": colleague_token, "_field": "name", "name": "x"}).status_code == 404
