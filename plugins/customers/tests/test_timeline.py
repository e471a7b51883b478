"""A customer's timeline merges follow-ups, tasks, changes and other plugins' entries, newest first, paged."""

from datetime import timedelta
from decimal import Decimal

from tests.helpers import plugin_module

from .conftest import SYSTEM


def orders_like(clock):
    """A plugin contributing two "order" entries to every customer's timeline."""

    def customers_timeline_entries(customer_id, limit):
        start = clock.now()
        entries = [
            {"at": start - timedelta(days=2), "kind": "order", "title": "Order #1", "entity": "orders", "record_id": 1},
            {"at": start + timedelta(minutes=30), "kind": "order", "title": "Order #2", "entity": "orders", "record_id": 2},
        ]
        return entries[:limit]

    return plugin_module("orders_like", requires=["customers"], customers_timeline_entries=customers_timeline_entries)


def test_timeline_merges_every_source_newest_first_and_pages(make_site, people_for, clock, http_for):
    site = make_site(orders_like(clock), plugins=("customers", "orders_like"))
    people = people_for(site)
    rep = people["rep"]
    acme = site.records.create(rep, "customers", {"name": "ACME"})  # change at T
    clock.advance(minutes=10)
    site.records.create(rep, "followups", {"customer_id": acme["id"], "method": "call", "content": "first call", "followed_at": clock.now() - timedelta(days=1)})
    clock.advance(minutes=10)
    site.records.create(rep, "tasks", {"customer_id": acme["id"], "title": "send quote"})  # task at T+20
    clock.advance(minutes=20)  # T+40

    client = http_for(site)(rep)
    url = f"/api/v1/plugins/customers/customers/{acme['id']}/timeline"
    whole = client.get(url, params={"limit": 50}).json()
    kinds = [(e["kind"], e["title"]) for e in whole["items"]]
    # the follow-up also moved last_followed_at: that update is a change at T+10
    assert kinds == [
        ("order", "Order #2"),
        ("task", "send quote"),
        ("change", "update"),
        ("change", "create"),
        ("followup", "first call"),
        ("order", "Order #1"),
    ]
    assert whole["next_offset"] is None
    first = client.get(url, params={"limit": 2}).json()
    second = client.get(url, params={"limit": 2, "offset": 2}).json()
    assert [e["title"] for e in first["items"] + second["items"]] == [t for _, t in kinds[:4]]
    assert first["next_offset"] == 2


def test_timeline_of_a_customer_the_user_cannot_see_is_a_404(site, people, http):
    theirs = site.records.create(people["outsider"], "customers", {"name": "Theirs"})
    answer = http(people["rep"]).get(f"/api/v1/plugins/customers/customers/{theirs['id']}/timeline")
    assert answer.status_code == 404
    assert http(people["admin"]).get(f"/api/v1/plugins/customers/customers/{theirs['id']}/timeline").status_code == 200


def test_purchase_summary_adds_up_every_plugins_answer(make_site, people_for):
    def customers_purchase_summary(customer_ids, since, until):
        return {customer_ids[0]: {"count": 2, "amount": 150.5, "currency": "CNY"}}

    shop = plugin_module("shop", requires=["customers"], customers_purchase_summary=customers_purchase_summary)
    site = make_site(shop, plugins=("customers", "shop"))
    acme = site.records.create(SYSTEM, "customers", {"name": "ACME"})
    from plugins.customers import purchase_summary

    summary = purchase_summary(site, SYSTEM, acme["id"])
    assert summary["count"] == 2 and summary["lifetime_value"] == {"CNY": Decimal("150.5")}
