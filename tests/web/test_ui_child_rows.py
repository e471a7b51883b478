"""The generic form edits a record's child rows (``Entity(children=...)``): add, change, remove, errors by cell."""

from __future__ import annotations

import re

import pytest

from kernel import Actor, Base
from kernel.testing import plugin_module
from kernel.web.app import create_app
from tests.test_children import Basket, BasketItem, entities, items_of
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site):
    site = make_site(plugin_module("kidtest", register_entities=entities), default_locale="en")
    Base.metadata.create_all(site.engine, tables=[Basket.__table__, BasketItem.__table__])
    return site


@pytest.fixture
def admin(site):
    add_user(site, "admin@example.com", "admin")
    return signed_in(create_app(site=site), "admin@example.com")


def test_a_new_record_is_saved_with_its_rows_and_a_blank_row_is_left_out(site, admin):
    client, token = admin
    page = client.get("/r/kidtest_baskets/new").text
    assert 'name="items.0.name"' in page and "data-child-template" in page and 'name="items.__row__.qty"' in page
    saved = client.post("/r/kidtest_baskets/new", data={
        "csrf_token": token, "title": "form",
        "items.0.position": "0", "items.0.name": "tea", "items.0.qty": "2", "items.0.price": "1.50",
        "items.1.position": "0", "items.1.name": "", "items.1.qty": "1", "items.1.price": "",  # the blank row
        "items.2.name": "milk", "items.2.price": "3",
    }, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    basket = site.records.list(SYSTEM, "kidtest_baskets").items[0]
    assert [(i["name"], i["qty"]) for i in items_of(site, basket["id"])] == [("tea", 2), ("milk", 1)]
    assert str(basket["total"]) == "6.00"


def test_an_edit_changes_removes_and_adds_rows_and_shows_a_cells_error(site, admin):
    client, token = admin
    basket = site.records.create(SYSTEM, "kidtest_baskets", {
        "title": "edit", "items": [{"name": "tea", "price": "1.00", "position": 1}, {"name": "rice", "price": "2.00", "position": 2}],
    })
    tea, rice = basket["items"]
    page = client.get(f"/r/kidtest_baskets/{basket['id']}/edit").text
    assert f'name="items.0.id" value="{tea["id"]}"' in page and 'value="rice"' in page and 'name="items.2.name"' in page
    fields = {"csrf_token": token, "title": "edit",
              "items.0.id": str(tea["id"]), "items.0.position": "1", "items.0.name": "green tea", "items.0.qty": "3", "items.0.price": "1.00",
              "items.1.id": str(rice["id"]), "items.1.position": "2", "items.1.name": "rice", "items.1.qty": "1", "items.1.price": "2.00",
              "items.1._delete": "1",
              "items.2.position": "3", "items.2.name": "salt", "items.2.qty": "0", "items.2.price": "0.50"}
    refused = client.post(f"/r/kidtest_baskets/{basket['id']}/edit", data=fields, follow_redirects=False)
    assert refused.status_code == 422
    error = re.search(r'id="f-items-2-qty-error">([^<]*)<', refused.text)
    assert error and "Qty must be at least 1" == error.group(1)
    assert 'value="green tea"' in refused.text  # what was typed stays
    assert [i["name"] for i in items_of(site, basket["id"])] == ["tea", "rice"]  # nothing written
    saved = client.post(f"/r/kidtest_baskets/{basket['id']}/edit", data={**fields, "items.2.qty": "2"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert [(i["name"], i["qty"]) for i in items_of(site, basket["id"])] == [("green tea", 3), ("salt", 2)]
    assert str(site.records.get(SYSTEM, "kidtest_baskets", basket["id"])["total"]) == "4.00"
    detail = client.get(f"/r/kidtest_baskets/{basket['id']}").text
    table = detail[detail.index('class="card child-table"'):]
    table = table[:table.index("</section>")]
    assert "green tea" in table and ">rice<" not in table
    assert 'data-label="Price">CN¥1.00<' in table and 'data-label="Amount">CN¥3.00<' in table
    history = client.get(f"/r/kidtest_baskets/{basket['id']}/history")
    assert history.status_code == 200 and "green tea" in history.text


def test_the_rows_are_labelled_in_chinese(site, admin):
    client, token = admin
    client.post("/lang", data={"csrf_token": token, "to": "zh_CN", "next": "/"})
    page = client.get("/r/kidtest_baskets/new").text
    assert "添加一行" in page and "删除此行" in page and "明细" in page


def test_the_child_entitys_own_pages_offer_no_writes(site, admin):
    client, _ = admin
    basket = site.records.create(SYSTEM, "kidtest_baskets", {"title": "b", "items": [{"name": "tea", "price": "1.00"}]})
    listed = client.get("/r/kidtest_items").text
    assert "tea" in listed and 'href="/r/kidtest_items/new"' not in listed
    row = basket["items"][0]["id"]
    shown = client.get(f"/r/kidtest_items/{row}").text
    assert f'href="/r/kidtest_items/{row}/edit"' not in shown and f'href="/r/kidtest_items/{row}/delete"' not in shown
    assert 'href="/r/kidtest_baskets/new"' in client.get("/r/kidtest_baskets").text
