"""A pool's masked fields are masked for its members until they hold the record: list, detail, search q,
filters, export and the API — and shown once claimed; never to the pool's admins."""

from __future__ import annotations

from typing import Any

from kernel import Actor, Site
from kernel.testing import export_records

from .conftest import make_items, make_pool

PHONE = "13812345678"


def exported(site: Site, actor: Actor) -> str:
    return b"".join(export_records(site, actor, "items", "csv", raw=True).chunks()).decode("utf-8-sig")


def test_masked_until_claimed_on_every_read_path(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep, manager = people["rep"], people["manager"]
    pool = make_pool(site, member_ids=[rep.user_id], admin_ids=[manager.user_id], masked_fields=["phone"])
    item = make_items(site, pool["id"], 1, phone=PHONE, email="a@example.com")[0]
    client = http(rep)
    listed = client.get("/api/v1/items").json()["items"]
    assert listed[0]["phone"] is None and listed[0]["_masked"] == ["phone"] and listed[0]["email"] == "a@example.com"
    detail = client.get(f"/api/v1/items/{item['id']}").json()
    assert detail["phone"] is None
    assert client.get("/api/v1/items", params={"q": PHONE}).json()["total"] == 0
    assert client.get("/api/v1/items", params={"phone": PHONE}).json()["total"] == 0
    assert PHONE not in exported(site, rep)
    assert http(manager).get(f"/api/v1/items/{item['id']}").json()["phone"] == PHONE  # the pool's admin sees it
    claimed = client.post(f"/api/v1/items/{item['id']}/claim", json={})
    assert claimed.status_code == 200 and claimed.json()["phone"] == PHONE
    assert client.get(f"/api/v1/items/{item['id']}").json()["phone"] == PHONE
    assert client.get("/api/v1/items", params={"q": PHONE}).json()["total"] == 1
    assert PHONE in exported(site, rep)


def test_an_unmasked_pool_shows_everything(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id])
    make_items(site, pool["id"], 1, phone=PHONE)
    assert http(rep).get("/api/v1/items").json()["items"][0]["phone"] == PHONE
