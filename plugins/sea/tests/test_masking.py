"""A sea member who cannot see an unclaimed customer's phone in the list gets it from no other route:
detail, export, search ``q``, sort order, filters, history, activity, duplicate warnings, contacts."""

from __future__ import annotations

from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import export_records

from .conftest import SYSTEM, make_sea

PHONE = "+862168881234"
EMAIL = "secret@pujiang.example"


@pytest.fixture
def sea_customer(site: Site, people: dict[str, Actor]) -> dict[str, Any]:
    sea = make_sea(site, people)
    customer = site.records.create(SYSTEM, "customers", {"name": "上海浦江贸易", "kind": "company", "phone": "+86 21 6888 1234",
                                                         "email": EMAIL, "owner_id": None, "sea_id": sea["id"]})
    site.records.create(SYSTEM, "customers", {"name": "低号码客户", "kind": "company", "phone": "+86 21 5100 0000", "owner_id": None, "sea_id": sea["id"]})
    site.records.create(SYSTEM, "contacts", {"customer_id": customer["id"], "name": "陈静", "phone": "13800138000", "wechat": "chen_wx",
                                             "email": "chen@pujiang.example"})
    return customer


def test_list_and_detail_mask_until_claimed_then_show(site, people, http, sea_customer):
    rep = http(people["rep"])
    listed = rep.get("/api/v1/customers").json()["items"]
    row = next(r for r in listed if r["id"] == sea_customer["id"])
    assert row["phone"] is None and row["email"] is None and set(row["_masked"]) >= {"phone", "email"}
    detail = rep.get(f"/api/v1/customers/{sea_customer['id']}").json()
    assert detail["phone"] is None and PHONE not in repr(detail) and EMAIL not in repr(detail)
    assert http(people["manager"]).get(f"/api/v1/customers/{sea_customer['id']}").json()["phone"] == PHONE  # the sea's admin
    assert rep.post(f"/api/v1/customers/{sea_customer['id']}/claim", json={}).status_code == 200
    claimed = rep.get(f"/api/v1/customers/{sea_customer['id']}").json()
    assert claimed["phone"] == PHONE and "_masked" not in claimed
    assert http(people["rep2"]).get(f"/api/v1/customers/{sea_customer['id']}").status_code == 404


def test_search_filters_and_sort_learn_nothing(site, people, http, sea_customer):
    rep = http(people["rep"])
    for q in ("68881234", "+862168881234", "secret@pujiang", "pujiang.example"):
        assert rep.get("/api/v1/customers", params={"q": q}).json()["items"] == [], q
    assert rep.get("/api/v1/customers", params={"q": "浦江"}).json()["items"][0]["phone"] is None  # found by its name
    assert rep.get("/api/v1/customers", params={"phone": PHONE}).json()["items"] == []
    assert rep.get("/api/v1/customers", params={"email": EMAIL}).json()["items"] == []
    up = [r["id"] for r in rep.get("/api/v1/customers", params={"sort": "phone"}).json()["items"]]
    down = [r["id"] for r in rep.get("/api/v1/customers", params={"sort": "-phone"}).json()["items"]]
    # the phones' own order is [low, sea_customer] ascending; masked, they tie as NULLs and follow the ids
    assert up == sorted(up) and down == sorted(down, reverse=True) and up[0] == sea_customer["id"]
    groups = rep.get("/api/v1/customers/aggregate", params={"group_by": "phone"}).json()
    assert PHONE not in repr(groups)


@pytest.mark.parametrize("raw", [False, True])
def test_export_shows_the_masked_fields_empty(site, people, sea_customer, raw):
    data = b"".join(export_records(site, people["rep"], "customers", "csv", raw=raw).chunks()).decode("utf-8-sig")
    assert "上海浦江贸易" in data and PHONE not in data and "6888" not in data and EMAIL not in data
    contacts = b"".join(export_records(site, people["rep"], "contacts", "csv", raw=raw).chunks()).decode("utf-8-sig")
    assert "陈静" in contacts and "13800138000" not in contacts and "chen_wx" not in contacts
    mine = b"".join(export_records(site, people["manager"], "customers", "csv", raw=raw).chunks()).decode("utf-8-sig")
    assert EMAIL in mine


def test_history_and_activity_show_changes_masked(site, people, http, sea_customer):
    site.records.update(SYSTEM, "customers", sea_customer["id"], {"phone": "+86 21 6888 9999"})
    rep = http(people["rep"])
    history = rep.get(f"/api/v1/customers/{sea_customer['id']}/history").json()
    assert "68889999" not in repr(history) and "68881234" not in repr(history)
    activity = rep.get(f"/api/v1/customers/{sea_customer['id']}/activity").json()
    assert "68889999" not in repr(activity) and "68881234" not in repr(activity)
    admin_history = http(people["manager"]).get(f"/api/v1/customers/{sea_customer['id']}/history").json()
    assert "68889999" in repr(admin_history)


def test_a_duplicate_warning_counts_the_sea_customer_without_naming_it(site, people, http, sea_customer):
    made = http(people["rep"]).post("/api/v1/customers", params={"on_duplicate": "warn"},
                                    json={"name": "新客户", "kind": "company", "phone": "+86 21 6888 1234"})
    assert made.status_code in (200, 201), made.text
    warnings = made.json().get("warnings")
    assert warnings and warnings[0]["ids"] == [] and warnings[0]["hidden"] >= 1
    assert str(sea_customer["id"]) not in repr(warnings[0]["ids"])


def test_contacts_are_masked_with_their_customer(site, people, http, sea_customer):
    rep = http(people["rep"])
    contacts = rep.get("/api/v1/contacts").json()["items"]
    assert len(contacts) == 1
    contact = contacts[0]
    assert contact["phone"] is None and contact["wechat"] is None and contact["email"] is None
    assert rep.get("/api/v1/contacts", params={"q": "chen_wx"}).json()["items"] == []
    assert rep.post(f"/api/v1/customers/{sea_customer['id']}/claim", json={}).status_code == 200
    shown = rep.get(f"/api/v1/contacts/{contact['id']}").json()
    assert shown["wechat"] == "chen_wx" and shown["phone"] == "+8613800138000"
