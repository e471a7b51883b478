"""A customer's timeline merges follow-ups, tasks, changes and other plugins' entries, newest first, paged."""

from datetime import timedelta
from decimal import Decimal

from kernel.testing import plugin_module

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


def activity(site, actor, entity, record_id, limit=50):
    with site.engine.connect() as conn:
        answers = site.view.pm.hook.record_activity(site=site, conn=conn, actor=actor, entity=entity, record_id=record_id, limit=limit)
    return [entry for answer in answers for entry in answer or ()]


def test_record_activity_gives_the_detail_page_follow_ups_tasks_and_plugin_entries_but_no_changes(make_site, people_for, clock):
    site = make_site(orders_like(clock), plugins=("customers", "orders_like"))
    people = people_for(site)
    rep = people["rep"]
    acme = site.records.create(rep, "customers", {"name": "ACME", "shared_user_ids": [people["rep2"].user_id]})
    clock.advance(minutes=5)
    site.records.create(rep, "followups", {"customer_id": acme["id"], "method": "visit", "content": "met the buyer"})
    clock.advance(minutes=5)
    site.records.create(rep, "tasks", {"customer_id": acme["id"], "title": "send quote"})
    site.records.create(people["outsider"], "tasks", {"title": "not about ACME"})

    entries = activity(site, rep, "customers", acme["id"])
    assert [(e["kind"], e["title"]) for e in entries] == [
        ("order", "Order #2"), ("task", "send quote"), ("followup", "met the buyer"), ("order", "Order #1")
    ]
    assert entries[2]["entity"] == "followups" and entries[2]["data"]["method"] == "visit"
    assert [e["title"] for e in activity(site, rep, "customers", acme["id"], limit=2)] == ["Order #2", "send quote"]
    assert all(e["kind"] != "change" for e in entries)  # the kernel adds the record's own changes

    from kernel.testing import record_activity  # the Activity tab's source: changes and these, merged

    tab = record_activity(site, rep, "customers", acme["id"])["items"]
    assert {"change", "followup", "task", "order"} == {e["kind"] for e in tab}


def test_record_activity_of_a_contact_and_what_the_actor_may_not_read(site, people, clock):
    rep, rep2 = people["rep"], people["rep2"]
    acme = site.records.create(rep, "customers", {"name": "ACME", "shared_user_ids": [rep2.user_id]})
    li = site.records.create(rep, "contacts", {"customer_id": acme["id"], "name": "Li Lei"})
    site.records.create(rep, "followups", {"entity": "contacts", "record_id": li["id"], "method": "wechat", "content": "sent the brochure"})
    site.records.create(rep, "tasks", {"entity": "contacts", "record_id": li["id"], "title": "birthday card"})
    assert [e["title"] for e in activity(site, rep, "contacts", li["id"])] == ["birthday card", "sent the brochure"]
    assert activity(site, rep, "followups", 1) == [] and activity(site, rep, "contacts", li["id"] + 1) == []

    private = site.records.create(people["manager"], "customers", {"name": "Manager's own"})
    site.records.create(people["manager"], "followups", {"customer_id": private["id"], "method": "call", "content": "secret"})
    site.records.update(people["manager"], "customers", private["id"], {"shared_user_ids": [rep.user_id]})
    shared = activity(site, rep, "customers", private["id"])
    assert [e["title"] for e in shared] == ["secret"]  # follow-ups of a customer shared with the rep are readable
    site.records.update(people["manager"], "customers", private["id"], {"shared_user_ids": []})
    assert activity(site, people["outsider"], "customers", private["id"]) == []
