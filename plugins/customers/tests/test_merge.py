"""Merging customers moves everything to the survivor in one transaction; unmerge restores it exactly."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.example import plugin as notes_plugin
from kernel.testing import plugin_module

from .conftest import SYSTEM

PLUGINS = ("customers", "notes", "notes_bridge")


def notes_bridge(fail: bool = False):
    """A plugin keeping notes "about" a customer (body ``customer:N``) and moving them on merge."""

    def about(site, conn, customer_id):
        table = site.view.entity("notes").table
        return list(conn.scalars(sa.select(table.c.id).where(table.c.body == f"customer:{customer_id}").order_by(table.c.id)))

    def customers_merge_related(site, conn, actor, survivor_id, merged_id):
        if fail:
            raise RuntimeError("the bridge refuses")
        ids = about(site, conn, merged_id)
        for note_id in ids:
            site.records.update(actor, "notes", note_id, {"body": f"customer:{survivor_id}"}, conn=conn)
        return {"notes": ids}

    def customers_unmerge_related(site, conn, actor, merged_id, moved):
        for note_id in moved["notes"]:
            site.records.update(actor, "notes", note_id, {"body": f"customer:{merged_id}"}, conn=conn)

    return plugin_module(
        "notes_bridge",
        requires=["customers", "notes"],
        customers_merge_related=customers_merge_related,
        customers_unmerge_related=customers_unmerge_related,
    )


def build(site, people, clock):
    """Two customers of ``rep`` with contacts, follow-ups, tasks and notes."""
    rep = people["rep"]
    keep = site.records.create(rep, "customers", {"name": "ACME 有限公司", "phone": "13800138000", "level": "A", "industry": "retail"})
    gone = site.records.create(
        rep,
        "customers",
        {"name": "ACME有限责任公司", "phone": "13900139000", "email": "info@acme.cn", "level": "B", "tags": ["old"], "shared_user_ids": [people["rep2"].user_id]},
    )
    site.records.create(rep, "contacts", {"customer_id": keep["id"], "name": "Keep primary"})
    for name in ("Gone primary", "Gone second"):
        site.records.create(rep, "contacts", {"customer_id": gone["id"], "name": name})
    site.records.create(rep, "followups", {"customer_id": keep["id"], "method": "call", "followed_at": clock.now() - timedelta(days=9)})
    clock.advance(hours=1)
    site.records.create(rep, "followups", {"customer_id": gone["id"], "method": "visit", "content": "met"})
    site.records.create(rep, "followups", {"customer_id": gone["id"], "method": "email", "followed_at": clock.now() - timedelta(days=20)})
    site.records.create(rep, "tasks", {"customer_id": gone["id"], "title": "quote", "due_at": clock.now() + timedelta(days=1)})
    for customer_id in (keep["id"], gone["id"], gone["id"]):
        site.records.create(SYSTEM, "notes", {"title": "about", "body": f"customer:{customer_id}"})
    return keep, gone


def everything(site):
    """Every row of every entity involved, as the admin reads them."""
    found = {}
    for entity in ("customers", "contacts", "followups", "tasks", "notes"):
        found[entity] = {r["id"]: r for r in site.records.list(SYSTEM, entity, limit=500).items}
    with site.engine.connect() as conn:
        found["shares"] = sorted(tuple(r) for r in conn.execute(sa.text("SELECT customer_id, kind, target_id FROM customers_shares")))
    return found


def without_updated_at(state):
    return {k: ({i: {f: v for f, v in r.items() if f != "updated_at"} for i, r in rows.items()} if isinstance(rows, dict) else rows) for k, rows in state.items()}


def test_merge_moves_everything_and_unmerge_restores_it_exactly(make_site, people_for, clock, http_for):
    site = make_site(notes_plugin, notes_bridge(), plugins=PLUGINS)
    people = people_for(site)
    keep, gone = build(site, people, clock)
    before = everything(site)
    client = http_for(site)(people["manager"])

    clock.advance(days=1)
    answer = client.post(f"/api/v1/customers/{keep['id']}/merge", json={"other_id": gone["id"], "fields": {"phone": "other", "level": "other", "tags": "other"}})
    assert answer.status_code == 200, answer.text
    merged = everything(site)
    assert answer.json()["moved"] == {"contacts": 2, "followups": 2, "tasks": 1, "plugins": 1}
    assert set(merged["customers"]) == {keep["id"]}
    survivor = merged["customers"][keep["id"]]
    assert (survivor["name"], survivor["phone"], survivor["level"], survivor["tags"]) == ("ACME 有限公司", "+8613900139000", "B", ["old"])
    assert survivor["last_followed_at"] == before["customers"][gone["id"]]["last_followed_at"]  # the later one wins
    assert {c["customer_id"] for c in merged["contacts"].values()} == {keep["id"]}
    assert [c["name"] for c in merged["contacts"].values() if c["is_primary"]] == ["Keep primary"]
    assert {f["customer_id"] for f in merged["followups"].values()} == {keep["id"]}
    assert {t["customer_id"] for t in merged["tasks"].values()} == {keep["id"]}
    assert {n["body"] for n in merged["notes"].values()} == {f"customer:{keep['id']}"}
    assert client.get(f"/api/v1/customers/{gone['id']}").status_code == 404
    history = client.get(f"/api/v1/customers/{keep['id']}/history").json()["items"]
    assert history[0]["action"] == "merge" and history[0]["changes"]["body"]["other_id"] == gone["id"]
    moved_task = next(iter(merged["tasks"]))
    moved_entry = client.get(f"/api/v1/tasks/{moved_task}/history").json()["items"][0]
    manager = people["manager"]  # a system action: the manager's name, and why the rights were raised
    assert (moved_entry["actor_id"], moved_entry["actor"], moved_entry["raised_for"]) == (manager.user_id, manager.label, "customers.merge")
    assert history[0]["raised_for"] is None  # the merge itself is the manager's own right

    clock.advance(days=1)
    undo = client.post(f"/api/v1/customers/{keep['id']}/unmerge", json={"merge_id": answer.json()["merge_id"]})
    assert undo.status_code == 200, undo.text
    after = everything(site)
    assert without_updated_at(after) == without_updated_at(before)
    assert after["customers"][gone["id"]]["updated_at"] == clock.now()
    restored = client.get(f"/api/v1/customers/{gone['id']}/history").json()["items"]
    assert [(e["action"], e["actor_id"], e["raised_for"]) for e in restored[:2]] == [
        ("unmerged", manager.user_id, None), ("restore", manager.user_id, "customers.unmerge")
    ]
    assert client.get("/api/v1/trash?entity=customers").json()["total"] == 0  # out of the bin again

    again = client.post(f"/api/v1/customers/{keep['id']}/unmerge", json={"merge_id": answer.json()["merge_id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_a_failing_plugin_leaves_nothing_merged(make_site, people_for, clock):
    site = make_site(notes_plugin, notes_bridge(fail=True), plugins=PLUGINS)
    people = people_for(site)
    keep, gone = build(site, people, clock)
    before = everything(site)
    with pytest.raises(RuntimeError, match="the bridge refuses"):
        site.records.act(people["manager"], "customers", keep["id"], "merge", {"other_id": gone["id"]})
    assert everything(site) == before


def test_merge_refuses_bad_bodies_and_reps(site, people, http):
    keep = site.records.create(people["rep"], "customers", {"name": "A"})
    other = site.records.create(people["outsider"], "customers", {"name": "B"})
    manager = http(people["manager"])
    itself = manager.post(f"/api/v1/customers/{keep['id']}/merge", json={"other_id": keep["id"]})
    assert itself.status_code == 422 and itself.json()["error"]["details"][0]["loc"] == ["body", "other_id"]
    unknown = manager.post(f"/api/v1/customers/{keep['id']}/merge", json={"other_id": other["id"], "fields": {"nope": "other"}})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["loc"] == ["body", "fields", "nope"]
    invisible = manager.post(f"/api/v1/customers/{keep['id']}/merge", json={"other_id": other["id"]})
    assert invisible.status_code == 422  # the other team's customer is not visible to this manager
    mine = site.records.create(people["rep"], "customers", {"name": "C"})
    rep = http(people["rep"]).post(f"/api/v1/customers/{keep['id']}/merge", json={"other_id": mine["id"]})
    assert rep.status_code == 403
    missing = manager.post(f"/api/v1/customers/{keep['id']}/unmerge", json={"merge_id": 77})
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["loc"] == ["body", "merge_id"]


def test_search_forgets_the_merged_customer_and_finds_it_again_after_unmerge(make_site):
    site = make_site(plugins=("customers",))
    survivor = site.records.create(SYSTEM, "customers", {"name": "北京星辰科技", "phone": "13800138000"})
    other = site.records.create(SYSTEM, "customers", {"name": "星辰科技北京分部", "phone": "13900139000"})
    merged = site.records.act(SYSTEM, "customers", survivor["id"], "merge", {"other_id": other["id"], "fields": {}})
    names = lambda q: [c["name"] for c in site.records.list(SYSTEM, "customers", q=q).items]  # noqa: E731
    assert names("分部") == [] and names("0139") == []
    site.records.act(SYSTEM, "customers", survivor["id"], "unmerge", {"merge_id": merged["merge_id"]})
    assert names("分部") == ["星辰科技北京分部"] and names("0139") == ["星辰科技北京分部"]


def test_unmerge_after_the_bin_purged_the_customer_uses_the_merges_copy(make_site, clock):
    from kernel.testing import run_due_jobs

    site = make_site(plugins=("customers",))
    survivor = site.records.create(SYSTEM, "customers", {"name": "Alpha", "phone": "13800138000"})
    other = site.records.create(SYSTEM, "customers", {"name": "Beta", "phone": "13900139000"})
    merged = site.records.act(SYSTEM, "customers", survivor["id"], "merge", {"other_id": other["id"], "fields": {}})
    clock.advance(days=31)
    assert [o.result for o in run_due_jobs(site) if o.job == "kernel.purge_trash"] == [1]
    site.records.act(SYSTEM, "customers", survivor["id"], "unmerge", {"merge_id": merged["merge_id"]})
    back = site.records.get(SYSTEM, "customers", other["id"])
    assert (back["name"], back["phone"], back["updated_at"]) == ("Beta", "+8613900139000", clock.now())
    assert [c["name"] for c in site.records.list(SYSTEM, "customers", q="Beta").items] == ["Beta"]
    assert site.records.history(SYSTEM, "customers", other["id"])[1]["action"] == "restore"
