"""Child rows written with their parent (``Entity(children=...)``): one call, one transaction, one audit entry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Actor, Base, Children, Entity, Forbidden, Money, NotFound, RecordMixin, ValidationError, multiply_money
from kernel.models import AuditEntry
from kernel.testing import create_app, issue_token, plugin_module

SYSTEM = Actor.system("cli")


class Basket(RecordMixin, Base):
    __tablename__ = "kidtest_baskets"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    total: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    item_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class BasketItem(RecordMixin, Base):
    __tablename__ = "kidtest_items"
    basket_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("kidtest_baskets.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    qty: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))


class BasketFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    owner_id: int | None = None


class ItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int = 0
    name: str = Field(min_length=1, max_length=100)
    qty: int = Field(1, ge=1, le=1000)
    price: Decimal = Field(ge=0)  # no decimal_places: the kernel refuses what the Money column cannot hold


def line_amount(parent: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    return {"amount": multiply_money(row["price"], row["qty"], "CNY")}


def at_most_three_when_small(parent: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    if parent["title"] == "small" and len(rows) > 3:
        raise ValidationError.at(["items"], "a small basket holds at most 3 items")


ITEMS = Children(
    "items", entity="kidtest_items", parent_field="basket_id", order_by="position",
    totals={"total": "sum:amount", "item_count": "count"}, compute=line_amount, check=at_most_three_when_small,
    label={"en": "Items", "zh_CN": "明细"},
)


def entities() -> list[Entity]:
    return [
        Entity(
            name="kidtest_baskets", label={"en": "Basket", "zh_CN": "篮子"}, label_plural={"en": "Baskets", "zh_CN": "篮子"},
            model=Basket, fields=BasketFields, owner_field="owner_id", searchable=("title",), children=(ITEMS,),
        ),
        Entity(
            name="kidtest_items", label={"en": "Item", "zh_CN": "明细"}, label_plural={"en": "Items", "zh_CN": "明细"},
            model=BasketItem, fields=ItemFields, parent=("basket_id", "kidtest_baskets"), searchable=("name",),
        ),
    ]


@pytest.fixture
def site(make_site):
    site = make_site(plugin_module("kidtest", register_entities=entities))
    Base.metadata.create_all(site.engine, tables=[Basket.__table__, BasketItem.__table__])
    return site


def rep(site, email: str) -> Actor:
    user = site.records.create(SYSTEM, "users", {"email": email, "name": email.split("@")[0], "role": "sales_rep"})
    return Actor(user_id=user["id"], label=email, role="sales_rep")


def items_of(site, basket_id: int) -> list[dict[str, Any]]:
    table = BasketItem.__table__
    with site.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.basket_id == basket_id).order_by(table.c.id))]


def audit_of(site, entity: str) -> list[dict[str, Any]]:
    table = AuditEntry.__table__
    with site.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.entity == entity).order_by(table.c.id))]


def new_basket(site, actor=SYSTEM, title="weekly"):
    return site.records.create(actor, "kidtest_baskets", {
        "title": title,
        "items": [
            {"name": "tea", "qty": 3, "price": "12.50", "position": 2},
            {"name": "rice", "qty": 1, "price": "40.00", "position": 1},
        ],
    })


def test_create_writes_the_rows_totals_and_one_audit_entry(site):
    basket = new_basket(site)
    assert basket["total"] == Decimal("77.50") and isinstance(basket["total"], Decimal)
    assert basket["item_count"] == 2
    assert [(i["name"], i["amount"]) for i in basket["items"]] == [("rice", Decimal("40.00")), ("tea", Decimal("37.50"))]
    assert "basket_id" not in basket["items"][0]
    assert site.records.get(SYSTEM, "kidtest_baskets", basket["id"])["items"] == basket["items"]
    entries = audit_of(site, "kidtest_baskets")
    assert len(entries) == 1 and audit_of(site, "kidtest_items") == []
    tea = next(i for i in basket["items"] if i["name"] == "tea")
    assert entries[0]["changes"][f"items.{tea['id']}"] == [None, {"position": 2, "name": "tea", "qty": 3, "price": "12.50", "amount": "37.50"}]
    assert entries[0]["changes"]["total"] == [None, "77.50"]
    empty = site.records.create(SYSTEM, "kidtest_baskets", {"title": "empty"})
    assert (empty["items"], empty["total"], empty["item_count"]) == ([], Decimal("0.00"), 0)


def test_one_patch_adds_changes_and_removes_and_leaves_the_rest(site):
    basket = new_basket(site)
    rice, tea = basket["items"]
    other = site.records.create(SYSTEM, "kidtest_baskets", {"title": "other", "items": [{"name": "salt", "price": "3.00"}]})
    updated = site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {
        "title": "renamed",
        "items": [
            {"id": tea["id"], "qty": 4},
            {"id": rice["id"], "_delete": True},
            {"name": "milk", "qty": 2, "price": "6.25", "position": 3},
        ],
    })
    assert updated["title"] == "renamed"
    assert [(i["name"], i["qty"], i["amount"]) for i in updated["items"]] == [("tea", 4, Decimal("50.00")), ("milk", 2, Decimal("12.50"))]
    assert (updated["total"], updated["item_count"]) == (Decimal("62.50"), 2)
    assert [i["name"] for i in items_of(site, basket["id"])] == ["tea", "milk"]
    assert [i["name"] for i in items_of(site, other["id"])] == ["salt"]  # another record's rows untouched
    entries = audit_of(site, "kidtest_baskets")
    assert [e["action"] for e in entries] == ["create", "create", "update"]
    changes = entries[-1]["changes"]
    milk = updated["items"][1]
    assert changes[f"items.{tea['id']}.qty"] == [3, 4]
    assert changes[f"items.{tea['id']}.amount"] == ["37.50", "50.00"]
    assert changes[f"items.{rice['id']}"] == [{"position": 1, "name": "rice", "qty": 1, "price": "40.00", "amount": "40.00"}, None]
    assert changes[f"items.{milk['id']}"][0] is None
    assert changes["total"] == ["77.50", "62.50"] and changes["title"] == ["weekly", "renamed"]
    history = site.records.history(SYSTEM, "kidtest_baskets", basket["id"])
    assert len(history) == 2
    # rows left out stay; an unchanged row changes nothing and writes no audit entry
    same = site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {"items": [{"id": tea["id"], "qty": 4}]})
    assert same["items"] == updated["items"] and len(audit_of(site, "kidtest_baskets")) == 3


def test_a_bad_row_names_list_index_and_field_and_nothing_is_written(site):
    basket = new_basket(site)
    rice, tea = basket["items"]
    before = items_of(site, basket["id"])
    with pytest.raises(ValidationError) as caught:
        site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {
            "title": "changed",
            "items": [{"id": tea["id"], "qty": 5}, {"name": "ok", "price": "1.00"}, {"name": "bad", "qty": 0, "price": "1.00"}],
        })
    assert caught.value.details[0]["loc"] == ["items", 2, "qty"]
    with pytest.raises(ValidationError) as caught:
        site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {"items": [{"name": "ok", "price": "1.00"}, {"id": tea["id"], "price": "-1"}]})
    assert caught.value.details[0]["loc"] == ["items", 1, "price"]
    with pytest.raises(ValidationError) as caught:
        site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {"items": [{"name": "x", "price": "1.00", "colour": "red"}]})
    assert {k: v for k, v in caught.value.details[0].items() if not k.startswith("_")} == {"loc": ["items", 0, "colour"], "msg": "unknown field"}
    with pytest.raises(ValidationError) as caught:  # the check callback sees the record and every row after the change
        site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {"title": "small", "items": [{"name": "a", "price": "1"}, {"name": "b", "price": "1"}]})
    assert caught.value.details[0]["loc"] == ["items"]
    for body, loc in (
        ({"items": "tea"}, ["items"]),
        ({"items": [5]}, ["items", 0]),
        ({"items": [{"id": tea["id"], "_delete": True, "qty": 2}]}, ["items", 0, "qty"]),
        ({"items": [{"_delete": True}]}, ["items", 0, "_delete"]),
        ({"items": [{"id": tea["id"], "qty": 2}, {"id": tea["id"], "_delete": True}]}, ["items", 1, "id"]),
        ({"total": "1.00"}, ["total"]),
        ({"items": [{"name": "x", "price": "1.00", "basket_id": 99}]}, ["items", 0, "basket_id"]),
    ):
        with pytest.raises(ValidationError) as caught:
            site.records.update(SYSTEM, "kidtest_baskets", basket["id"], body)
        assert caught.value.details[0]["loc"] == loc, body
    assert items_of(site, basket["id"]) == before
    stored = site.records.get(SYSTEM, "kidtest_baskets", basket["id"])
    assert (stored["title"], stored["total"]) == ("weekly", Decimal("77.50"))
    assert len(audit_of(site, "kidtest_baskets")) == 1
    with pytest.raises(ValidationError) as caught:  # a batch names the record's index first
        site.records.create_many(SYSTEM, "kidtest_baskets", [{"title": "a"}, {"title": "b", "items": [{"name": "", "price": "1"}]}])
    assert caught.value.details[0]["loc"] == [1, "items", 0, "name"]
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "kidtest_baskets", {"title": "a", "items": [{"id": tea["id"], "qty": 2}]})
    assert caught.value.details[0]["loc"] == ["items", 0, "id"]
    assert site.records.list(SYSTEM, "kidtest_baskets").total == 1


def test_a_row_of_another_record_is_refused(site):
    mine, theirs = new_basket(site), new_basket(site, title="theirs")
    foreign = theirs["items"][0]
    for row in ({"id": foreign["id"], "qty": 9}, {"id": foreign["id"], "_delete": True}, {"id": 10**6, "qty": 1}):
        with pytest.raises(ValidationError) as caught:
            site.records.update(SYSTEM, "kidtest_baskets", mine["id"], {"items": [row]})
        assert caught.value.details[0]["loc"] == ["items", 0, "id"]
    assert {i["id"]: i["qty"] for i in items_of(site, theirs["id"])}[foreign["id"]] == foreign["qty"]


def test_rows_are_written_with_the_parents_rights_and_read_through_it(site):
    ann, bob = rep(site, "ann@example.com"), rep(site, "bob@example.com")
    basket = new_basket(site, ann)
    assert site.records.update(ann, "kidtest_baskets", basket["id"], {"items": [{"name": "egg", "price": "0.80"}]})["item_count"] == 3
    with pytest.raises(NotFound):  # bob cannot see ann's basket: nor write its rows
        site.records.update(bob, "kidtest_baskets", basket["id"], {"items": [{"name": "egg", "price": "0.80"}]})
    assert site.records.list(bob, "kidtest_items").total == 0
    assert site.records.list(ann, "kidtest_items").total == 3  # read through the parent
    with pytest.raises(ValidationError, match="written with their kidtest_baskets record"):
        site.records.create(SYSTEM, "kidtest_items", {"name": "loose", "price": "1.00"})
    with pytest.raises(ValidationError):
        site.records.update(SYSTEM, "kidtest_items", basket["items"][0]["id"], {"qty": 2})
    with pytest.raises(ValidationError):
        site.records.delete(SYSTEM, "kidtest_items", basket["items"][0]["id"])
    role = site.records.list(SYSTEM, "roles", filters={"name": "sales_rep"}).items[0]
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": ["kidtest_baskets.read:own", "kidtest_baskets.create"]})
    with pytest.raises(Forbidden):
        site.records.update(ann, "kidtest_baskets", basket["id"], {"items": [{"name": "egg", "price": "0.80"}]})
    assert len(site.records.get(ann, "kidtest_baskets", basket["id"])["items"]) == 3  # reading follows the parent
    assert len(items_of(site, basket["id"])) == 3


def test_deleting_the_record_takes_its_rows_to_the_bin_and_restoring_brings_them_back(site):
    basket = new_basket(site)
    site.records.delete(SYSTEM, "kidtest_baskets", basket["id"])
    assert items_of(site, basket["id"]) == []
    assert audit_of(site, "kidtest_baskets")[-1]["action"] == "delete"
    assert [e["action"] for e in audit_of(site, "kidtest_items")][-2:] == ["delete", "delete"]  # each row its own entry
    back = site.records.restore(SYSTEM, "kidtest_baskets", basket["id"])
    assert back["total"] == basket["total"]
    assert sorted(r["id"] for r in site.records.get(SYSTEM, "kidtest_baskets", basket["id"])["items"]) == sorted(r["id"] for r in basket["items"])


def test_declarations_are_checked_at_start_up():
    from dataclasses import replace

    from kernel.children import check_children

    parent, child = entities()
    check_children({e.name: e for e in (parent, child)})
    for wrong, message in (
        (replace(ITEMS, entity="ghosts"), "no enabled entity"),
        (replace(ITEMS, parent_field="name"), "not one of its input fields"),
        (replace(ITEMS, totals={"title": "count"}), "not one of its input fields"),
        (replace(ITEMS, totals={"total": "avg:amount"}), "'count' or 'sum:FIELD'"),
        (replace(ITEMS, order_by="ghost"), "order_by"),
    ):
        with pytest.raises(TypeError, match=message):
            check_children({e.name: e for e in (replace(parent, children=(wrong,)), child)})


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_the_api_nests_rows_and_answers_422_with_their_location(site):
    admin = site.records.create(SYSTEM, "users", {"email": "root@example.com", "name": "root", "role": "admin"})
    token = issue_token(site, admin["id"])["token"]
    transport = httpx.ASGITransport(app=create_app(site=site), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {token}"}) as client:
        created = await client.post("/api/v1/kidtest_baskets", json={"title": "api", "items": [{"name": "tea", "qty": 2, "price": "1.05"}]})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["total"] == "2.10" and body["items"][0]["amount"] == "2.10"
        item = body["items"][0]["id"]
        bad = await client.patch(f"/api/v1/kidtest_baskets/{body['id']}", json={"items": [{"id": item, "qty": 2}, {"name": "x", "price": "1.001"}]})
        assert bad.status_code == 422 and bad.json()["error"]["details"][0] == {"loc": ["items", 1, "price"], "msg": "must be an amount with at most 2 decimals"}
        ok = await client.patch(f"/api/v1/kidtest_baskets/{body['id']}", json={"items": [{"id": item, "_delete": True}]})
        assert ok.status_code == 200 and ok.json()["items"] == [] and ok.json()["total"] == "0.00"
        got = await client.get(f"/api/v1/kidtest_baskets/{body['id']}")
        assert got.json()["items"] == [] and got.json()["item_count"] == 0


def test_meta_and_openapi_describe_the_rows(site):
    from kernel.web.meta import describe_entity
    from kernel.web.openapi import openapi_document

    view = site.view
    described = describe_entity(view, view.entity("kidtest_baskets"))
    assert described["children"] == [
        {"name": "items", "entity": "kidtest_items", "parent_field": "basket_id", "totals": {"total": "sum:amount", "item_count": "count"}, "max_rows": 500}
    ]
    schemas = openapi_document(view)["components"]["schemas"]
    assert schemas["kidtest_baskets.Create"]["properties"]["items"]["items"]["required"] == ["name", "price"]
    changed = schemas["kidtest_baskets.Update"]["properties"]["items"]["items"]["anyOf"][0]
    assert changed["required"] == ["id"] and "_delete" in changed["properties"]
    read = schemas["kidtest_baskets.Record"]["properties"]["items"]["items"]
    assert "basket_id" not in read["properties"] and "amount" in read["required"]


def test_parallel_patches_keep_the_totals_true(make_site):
    import threading

    # refresh_seconds: see tests/test_sequences.py (writers waiting for SQLite's lock must not hold the pool)
    site = make_site(plugin_module("kidtest", register_entities=entities), refresh_seconds=3600)
    Base.metadata.create_all(site.engine, tables=[Basket.__table__, BasketItem.__table__])
    basket = new_basket(site)
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def add(index: int) -> None:
        try:
            start.wait(timeout=10)
            site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {"items": [{"name": f"n{index}", "qty": index + 1, "price": "1.10"}]})
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored = site.records.get(SYSTEM, "kidtest_baskets", basket["id"])
    assert stored["item_count"] == 12 and len(stored["items"]) == 12
    assert stored["total"] == Decimal("77.50") + Decimal("1.10") * sum(range(1, 11))


def test_custom_values_of_rows_are_validated_and_kept(site):
    from kernel.fielddefs import add_field

    add_field(site, SYSTEM, "kidtest_items", "colour", {"type": "string", "enum": ["red", "green"]}, label={"en": "Colour"})
    add_field(site, SYSTEM, "kidtest_items", "other", {"type": "integer", "format": "reference", "x-entity": "kidtest_baskets"}, label={"en": "Other"})
    basket = site.records.create(SYSTEM, "kidtest_baskets", {"title": "c", "items": [{"name": "tea", "price": "1", "custom": {"colour": "red"}}]})
    tea = basket["items"][0]
    assert tea["custom"] == {"colour": "red"}
    for custom, loc in (({"colour": "blue"}, ["items", 0, "custom", "colour"]), ({"other": 999}, ["items", 0, "custom", "other"])):
        with pytest.raises(ValidationError) as caught:
            site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {"items": [{"id": tea["id"], "custom": custom}]})
        assert caught.value.details[0]["loc"] == loc
    changed = site.records.update(SYSTEM, "kidtest_baskets", basket["id"], {"items": [{"id": tea["id"], "custom": {"colour": None, "other": basket["id"]}}]})
    assert changed["items"][0]["custom"] == {"other": basket["id"]}
    assert audit_of(site, "kidtest_baskets")[-1]["changes"][f"items.{tea['id']}.custom.colour"] == ["red", None]
