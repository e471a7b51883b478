"""Customers' ids are never reused; upgrading an existing database keeps shares, contacts and links."""

from __future__ import annotations

import sqlalchemy as sa
from kernel.testing import upgrade_to

from .conftest import SYSTEM, customer


def test_a_new_customer_never_takes_a_deleted_ones_id_or_history(site, people, http):
    old = customer(site, people["outsider"], name="Old secret", phone="13800138000")
    site.records.delete(SYSTEM, "customers", old["id"])
    new = customer(site, people["rep"], name="New")
    assert new["id"] > old["id"]
    items = http(people["rep"]).get(f"/api/v1/customers/{new['id']}/history").json()["items"]
    assert [e["action"] for e in items] == ["create"] and "Old secret" not in str(items)


def test_upgrading_keeps_shares_contacts_and_followups(make_site, people_for):
    site = make_site(plugins=("customers",), migrate=False)
    upgrade_to(site, "core@head", "customers@ba361af86eba")  # before the ids revision
    people = people_for(site)
    acme = customer(site, people["rep"], shared_user_ids=[people["outsider"].user_id], shared_team_ids=[people["outsider"].team_id])
    gone = customer(site, people["rep"], name="Gone")
    contact = site.records.create(people["rep"], "contacts", {"customer_id": acme["id"], "name": "Li Lei"})
    site.records.create(people["rep"], "followups", {"customer_id": acme["id"], "method": "call"})
    site.records.delete(SYSTEM, "customers", gone["id"])

    upgrade_to(site)

    with site.engine.connect() as conn:
        shares = conn.execute(sa.text("SELECT kind, target_id FROM customers_shares ORDER BY kind")).all()
    assert [tuple(row) for row in shares] == [("team", people["outsider"].team_id), ("user", people["outsider"].user_id)]
    assert site.records.get(people["outsider"], "customers", acme["id"])["name"] == "ACME"  # still shared
    assert site.records.get(SYSTEM, "contacts", contact["id"])["customer_id"] == acme["id"]
    assert site.records.list(SYSTEM, "followups").total == 1
    assert customer(site, people["rep"], name="Next")["id"] > gone["id"]
