"""Customers and contacts through the services and the REST API: validation, owners, dedupe, primary contact."""

import pytest

from kernel import ValidationError

from .conftest import SYSTEM, customer


def test_a_rep_creates_a_customer_they_own_with_its_team(site, people):
    record = customer(site, people["rep"], level="A", tags=["vip", "vip"])
    assert record["owner_id"] == people["rep"].user_id and record["team_id"] == people["rep"].team_id
    assert record["tags"] == ["vip"] and record["status"] == "potential" and record["churn_flag"] is False
    assert "name_key" not in record  # dedupe keys are stored, never shown


def test_level_must_be_an_option_of_the_level_list(site, people):
    with pytest.raises(ValidationError) as caught:
        customer(site, people["rep"], level="Z")
    assert caught.value.details == [{"loc": ["level"], "msg": "must be one of A, B, C, D"}]


def test_levels_come_from_the_option_list_admins_edit(site, people, http):
    added = http(people["admin"]).post("/api/v1/meta/option-lists/customers.level/options", json={"code": "gold", "label": {"en": "Gold", "zh_CN": "金牌"}})
    assert added.status_code == 201, added.text
    assert customer(site, SYSTEM, level="金牌")["level"] == "gold"  # a label is stored as its code


def test_credit_code_is_checked_and_for_companies_only(site, people):
    assert customer(site, SYSTEM, credit_code="91350100m000100y43")["credit_code"] == "91350100M000100Y43"
    with pytest.raises(ValidationError) as caught:
        customer(site, SYSTEM, credit_code="91350100M000100Y44")
    assert caught.value.details[0]["loc"] == ["credit_code"] and "check character" in caught.value.details[0]["msg"]
    with pytest.raises(ValidationError) as caught:
        customer(site, SYSTEM, name="王先生", kind="individual", credit_code="91350100M000100Y43")
    assert caught.value.details == [{"loc": ["credit_code"], "msg": "only a company has a unified social credit code"}]


def test_unknown_user_in_shared_with_is_refused(site, people):
    with pytest.raises(ValidationError) as caught:
        customer(site, SYSTEM, shared_user_ids=[999])
    assert caught.value.details == [{"loc": ["shared_user_ids"], "msg": "no users record with id 999"}]


def test_api_warns_about_duplicate_customers(site, people, http):
    client = http(people["manager"])
    first = client.post("/api/v1/customers", json={"name": "ACME 有限公司", "phone": "13800138000"})
    assert first.status_code == 201 and "warnings" not in first.json()
    same_name = client.post("/api/v1/customers", json={"name": "ACME有限责任公司"})
    assert same_name.status_code == 201
    assert same_name.json()["warnings"] == [{"code": "duplicate", "ids": [first.json()["id"]], "hidden": 0}]
    same_phone = client.post("/api/v1/customers", json={"name": "Other", "phone": "+86 138-0013-8000"})
    assert same_phone.json()["warnings"][0]["ids"] == [first.json()["id"], same_name.json()["id"]][:1]


def test_api_refuses_a_duplicate_when_asked(site, people, http):
    client = http(people["manager"])
    first = client.post("/api/v1/customers", json={"name": "Beta", "email": "Info@Beta.cn"}).json()
    refused = client.post("/api/v1/customers?on_duplicate=refuse", json={"name": "Gamma", "emails": [" info@beta.CN"]})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"][0]["ids"] == [first["id"]]
    names = [c["name"] for c in client.get("/api/v1/customers").json()["items"]]
    assert names == ["Beta"]


def test_individuals_with_the_same_name_are_not_duplicates(site, people, http):
    client = http(people["manager"])
    client.post("/api/v1/customers", json={"name": "张伟", "kind": "individual"})
    second = client.post("/api/v1/customers", json={"name": "张伟", "kind": "individual"})
    assert second.status_code == 201 and "warnings" not in second.json()


def test_dedupe_can_be_switched_off(make_site, people):
    quiet = make_site(plugins=("customers",), plugin_settings={"customers": {"dedupe": False}})
    customer(quiet, SYSTEM, phone="13800138000")
    assert not any(quiet.records.find_duplicates(SYSTEM, "customers", [{"name": "ACME", "phone": "13800138000"}]))
    assert quiet.records.create(SYSTEM, "customers", {"name": "ACME", "phone": "13800138000"}, on_duplicate="refuse")["id"]


def test_contact_duplicates_by_phone_and_email(site, people, http):
    client = http(people["rep"])
    acme = client.post("/api/v1/customers", json={"name": "ACME"}).json()
    first = client.post("/api/v1/contacts", json={"customer_id": acme["id"], "name": "Li", "phone": "138 0013 8000"}).json()
    second = client.post("/api/v1/contacts", json={"customer_id": acme["id"], "name": "Li Lei", "phones": ["+86-13800138000"]})
    assert second.status_code == 201 and second.json()["warnings"] == [{"code": "duplicate", "ids": [first["id"]], "hidden": 0}]
    check = client.get("/api/v1/plugins/customers/contacts/duplicates", params={"phone": "0086 13800138000"})
    assert check.json() == {"code": "duplicate", "ids": [first["id"], second.json()["id"]], "hidden": 0}


def test_a_customer_has_exactly_one_primary_contact(site, people):
    rep = people["rep"]
    acme = customer(site, rep)
    first = site.records.create(rep, "contacts", {"customer_id": acme["id"], "name": "A"})
    second = site.records.create(rep, "contacts", {"customer_id": acme["id"], "name": "B"})
    assert first["is_primary"] is True and second["is_primary"] is False
    third = site.records.create(rep, "contacts", {"customer_id": acme["id"], "name": "C", "is_primary": True})

    def primaries():
        items = site.records.list(rep, "contacts", filters={"customer_id": acme["id"]}).items
        return [c["name"] for c in items if c["is_primary"]]

    assert third["is_primary"] is True and primaries() == ["C"]
    with pytest.raises(ValidationError) as caught:
        site.records.update(rep, "contacts", third["id"], {"is_primary": False})
    assert caught.value.details[0]["loc"] == ["is_primary"]
    site.records.delete(SYSTEM, "contacts", third["id"])
    assert primaries() == ["A"]


def test_a_contact_needs_a_customer_the_user_can_see(site, people):
    theirs = customer(site, people["outsider"])
    with pytest.raises(ValidationError) as caught:
        site.records.create(people["rep"], "contacts", {"customer_id": theirs["id"], "name": "X"})
    assert caught.value.details == [{"loc": ["customer_id"], "msg": f"no customers record with id {theirs['id']}"}]


def test_a_deleted_customer_takes_its_contacts_followups_and_tasks_to_the_bin_and_back(site, people, http):
    manager = people["manager"]
    acme = customer(site, manager, shared_user_ids=[people["rep2"].user_id])
    contact = site.records.create(manager, "contacts", {"customer_id": acme["id"], "name": "A"})
    followup = site.records.create(manager, "followups", {"customer_id": acme["id"], "method": "call", "content": "hi"})
    task = site.records.create(manager, "tasks", {"customer_id": acme["id"], "title": "call back"})
    client = http(manager)
    assert client.request("DELETE", f"/api/v1/customers/{acme['id']}").status_code == 204
    for entity in ("customers", "contacts", "followups", "tasks"):
        assert site.records.list(SYSTEM, entity).total == 0
    listed = client.get("/api/v1/trash?entity=customers").json()["items"]
    assert [(i["record_id"], i["children"]) for i in listed] == [(acme["id"], {"contacts": 1, "followups": 1, "tasks": 1})]
    assert http(people["rep2"]).post(f"/api/v1/customers/{acme['id']}/restore").status_code == 404
    restored = client.post(f"/api/v1/customers/{acme['id']}/restore")
    assert restored.status_code == 200 and restored.json()["name"] == acme["name"]
    assert site.records.get(manager, "contacts", contact["id"])["is_primary"] is True
    assert site.records.get(manager, "followups", followup["id"])["content"] == "hi"
    assert site.records.get(manager, "tasks", task["id"])["title"] == "call back"
    assert site.records.get(people["rep2"], "customers", acme["id"])["id"] == acme["id"]  # shared again (after_restore)


def test_meta_describes_labels_in_both_languages(site, people, http):
    entities = {e["name"]: e for e in http(people["admin"]).get("/api/v1/meta/entities").json()["items"]}
    assert {"customers", "contacts", "followups", "tasks"} <= set(entities)
    fields = entities["followups"]["fields"]["properties"]
    assert fields["method"]["x-labels"]["wechat"] == {"en": "WeChat", "zh_CN": "微信"}
    assert entities["customers"]["fields"]["properties"]["credit_code"]["x-label"]["zh_CN"] == "统一社会信用代码"
    assert [a["name"] for a in entities["customers"]["actions"]] == ["merge", "unmerge", "assign"]


def test_deleting_many_customers_with_their_contacts_takes_a_handful_of_statements(make_site):
    import sqlalchemy as sa

    site = make_site(plugins=("customers",), refresh_seconds=3600)
    ids = site.records.create_many(SYSTEM, "customers", [{"name": f"C{i}"} for i in range(300)])
    site.records.create_many(SYSTEM, "contacts", [{"customer_id": i, "name": "Primary"} for i in ids])
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(site.engine, "before_cursor_execute", listener)
    try:
        assert site.records.delete_many(SYSTEM, "customers", ids=ids) == ids
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", listener)
    assert len(statements) <= 25, statements  # 15-16 today: not one per customer or contact
    assert site.records.list(SYSTEM, "contacts").total == 0
    site.records.restore(SYSTEM, "customers", ids[0])
    assert [c["is_primary"] for c in site.records.list(SYSTEM, "contacts").items] == [True]


def test_a_batch_of_unshared_customers_is_not_read_back_and_stores_what_one_read_back_stores(site, people):
    """``after_create`` concerns a batch of customers only when one is shared (``follows_create``): an
    import's batch without shares is written with only its ids fetched, and its records, audit entries
    and search documents are those of the same customer created alone (every column read back)."""
    from dataclasses import replace

    from kernel import audit_history
    from kernel.testing import add_custom_field

    add_custom_field(site, SYSTEM, "customers", "budget", {"type": "number", "format": "money"})
    add_custom_field(site, SYSTEM, "customers", "since", {"type": "string", "format": "date"})
    importer = replace(people["rep"], channel="import")
    row = {"name": "厦门海贸有限公司", "phone": "138 0013 8000", "email": "Sales@Haimao.cn", "tags": ["vip"], "custom": {"budget": "12.5", "since": "2024-03-01"}}
    shared = {**row, "name": "泉州海贸有限公司", "shared_user_ids": [people["rep2"].user_id]}
    batch = site.records.create_many(importer, "customers", [row, {**row, "name": "福州海贸有限公司"}])
    mixed = site.records.create_many(importer, "customers", [{**row, "name": "漳州海贸有限公司"}, shared])
    alone = site.records.create(importer, "customers", row)

    def stored(record_id):
        with site.engine.connect() as conn:
            (entry,) = audit_history(conn, "customers", record_id)
        record = site.records.get(SYSTEM, "customers", record_id)
        return {k: v for k, v in record.items() if k not in ("id", "created_at", "updated_at")}, entry["action"], entry["changes"]

    assert stored(batch[0]) == stored(alone["id"])
    for q in ("厦门海贸", "8613800138000", "0013", "haimao.cn", "厦", "sa"):  # the documents: found alike
        found = {r["id"] for r in site.records.list(SYSTEM, "customers", q=q, limit=50).items}
        assert {batch[0], alone["id"]} <= found, q
    assert site.records.list(people["rep2"], "customers").total == 1  # the shared one of the mixed batch: its shares synced
    assert site.records.get(people["rep2"], "customers", mixed[1])["shared_user_ids"] == [people["rep2"].user_id]
