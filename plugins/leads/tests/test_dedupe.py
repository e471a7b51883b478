"""Duplicate detection for leads against leads and customers, with the customers' Chinese-aware keys,
in batch form (a few queries per batch, whatever its size)."""

from __future__ import annotations

import sqlalchemy as sa


from .conftest import SYSTEM, make_leads, make_pool


def test_a_lead_like_a_stored_lead_or_customer_is_flagged_by_company_phone_or_email(site, people, http):
    pool = make_pool(site, people, is_default=True)
    lead = make_leads(site, pool["id"], 1, company="上海云帆科技有限公司", phone="+86 21 6000 0001", email="Zhang@Yunfan.example")[0]
    customer = site.records.create(SYSTEM, "customers", {"name": "北京星辰软件股份有限公司", "kind": "company", "phone": "010-8888 0002",
                                                         "owner_id": people["rep"].user_id})
    found = site.records.find_duplicates(SYSTEM, "leads", [
        {"name": "a", "company": "上海云帆科技"},           # the legal form left out
        {"name": "b", "phone": "021 6000 0001"},           # the same number written the local way
        {"name": "c", "email": "zhang@yunfan.example"},     # case folded
        {"name": "d", "company": "北京星辰软件"},            # a customer's name
        {"name": "e", "phone": "+86 10 8888 0002"},        # a customer's phone
        {"name": "f", "company": "毫不相干有限公司"},
        {"name": "g", "company": "毫不相干"},               # like the row before it, in the same batch
    ])
    assert found[0].ids("leads") == [lead["id"]] and found[1].ids("leads") == [lead["id"]] and found[2].ids("leads") == [lead["id"]]
    assert found[3].ids("customers") == [customer["id"]] and found[4].ids("customers") == [customer["id"]]
    assert not found[5] and found[6].rows == (5,)
    created = http(people["rep"]).post("/api/v1/leads", json={"name": "重复", "company": "北京星辰软件有限公司"})
    assert created.status_code == 201 and created.json()["warnings"][0]["code"] == "duplicate", created.text
    refused = http(people["rep"]).post("/api/v1/leads?on_duplicate=refuse", json={"name": "重复", "email": "ZHANG@yunfan.example"})
    assert refused.status_code == 409, refused.text


def test_a_rep_hears_of_lookalikes_they_may_not_read_only_as_a_count(site, people, http):
    site.records.create(SYSTEM, "customers", {"name": "保密客户有限公司", "kind": "company", "owner_id": people["outsider"].user_id})
    answer = http(people["rep"]).post("/api/v1/leads", json={"name": "x", "company": "保密客户"})
    warning = answer.json()["warnings"][0]
    assert warning["ids"] == [] and warning["hidden"] == 1 and "records" not in warning, answer.text


def test_a_batch_is_checked_in_a_few_queries(site, people):
    make_leads(site, None, 5)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    rows = [{"name": f"r{i}", "company": f"公司{i}", "phone": f"+86 21 7000 {i:04d}", "email": f"r{i}@x.example"} for i in range(200)]
    sa.event.listen(site.engine, "before_cursor_execute", count)
    try:
        found = site.records.find_duplicates(SYSTEM, "leads", rows + [{"name": "again", "company": "公司7"}])
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", count)
    assert found[-1].rows == (7,) and not any(found[:200])
    lookups = [s for s in statements if "leads_leads" in s or "customers_customers" in s]
    assert len(lookups) <= 4, lookups


def test_keys_follow_edits(site, people):
    lead = make_leads(site, None, 1, company="旧名称有限公司")[0]
    site.records.update(SYSTEM, "leads", lead["id"], {"company": "新名称有限公司"})
    assert site.records.find_duplicates(SYSTEM, "leads", [{"name": "x", "company": "新名称"}])[0].ids("leads") == [lead["id"]]
    assert not site.records.find_duplicates(SYSTEM, "leads", [{"name": "x", "company": "旧名称"}])[0]
