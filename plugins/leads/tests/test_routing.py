"""Routing new leads into pools (region, industry, source, custom fields; value or in; else the
default pool) and the pools' strategies giving them owners: round-robin spreads evenly."""

from __future__ import annotations

from collections import Counter

from kernel.testing import add_custom_field

from .conftest import SYSTEM, make_pool


def test_round_robin_spreads_100_leads_evenly_over_4_members(site, people):
    members = [people[k].user_id for k in ("rep", "rep2", "manager", "outsider")]
    pool = make_pool(site, people, member_ids=members, assignment="round_robin", is_default=True)
    ids = site.records.create_many(SYSTEM, "leads", [{"name": f"批量线索 {i}"} for i in range(60)])
    ids += [site.records.create(SYSTEM, "leads", {"name": f"单条线索 {i}"})["id"] for i in range(40)]
    leads = site.records.list(SYSTEM, "leads", filters={"id__in": ids}, limit=200).items
    assert {lead["pool_id"] for lead in leads} == {pool["id"]}
    spread = Counter(lead["owner_id"] for lead in leads)
    assert spread == {member: 25 for member in members}, spread
    assert {lead["status"] for lead in leads} == {"assigned"}


def test_a_new_lead_goes_to_the_first_pool_whose_rules_match_else_the_default(site, people):
    add_custom_field(site, SYSTEM, "leads", "campaign_code", {"type": "string", "maxLength": 20})
    default = make_pool(site, people, name="上海区线索池", is_default=True)
    education = make_pool(site, people, name="教育行业线索池", routing_rules=[{"field": "industry", "value": "education"}])
    north = make_pool(site, people, name="华北线索池", routing_rules=[{"field": "region", "in": ["beijing", "tianjin"]},
                                                                 {"field": "source", "value": "fair"}])
    expo = make_pool(site, people, name="展会线索池", routing_rules=[{"field": "custom.campaign_code", "value": "EXPO26"}])
    cases = [
        ({"industry": "education", "region": "beijing"}, education),  # the first pool (by id) that matches wins
        ({"region": "tianjin"}, north),
        ({"source": "fair"}, north),
        ({"custom": {"campaign_code": "expo26"}}, expo),  # texts compare without case
        ({"region": "shanghai"}, default),
        ({}, default),
    ]
    for values, pool in cases:
        lead = site.records.create(SYSTEM, "leads", {"name": "路由", **values})
        assert lead["pool_id"] == pool["id"], (values, lead["pool_id"], pool["name"])
    chosen = site.records.create(SYSTEM, "leads", {"name": "指定", "industry": "education", "pool_id": north["id"]})
    assert chosen["pool_id"] == north["id"]  # a pool given is kept


def test_one_default_pool_at_most(site, people, http):
    first = make_pool(site, people, name="A", is_default=True)
    second = http(people["admin"]).post("/api/v1/lead_pools", json={"name": "B", "is_default": True})
    assert second.status_code == 201, second.text
    assert site.records.get(SYSTEM, "lead_pools", first["id"])["is_default"] is False
    assert site.records.create(SYSTEM, "leads", {"name": "x"})["pool_id"] == second.json()["id"]


def test_without_any_default_an_unrouted_lead_waits_in_no_pool(site, people):
    make_pool(site, people, routing_rules=[{"field": "industry", "value": "education"}])
    assert site.records.create(SYSTEM, "leads", {"name": "x", "industry": "finance"})["pool_id"] is None


def test_rules_assignment_gives_an_owner_by_field(site, people):
    rep2 = people["rep2"].user_id
    pool = make_pool(site, people, is_default=True, assignment="rules", assignment_rules=[{"field": "source", "value": "referral", "owner_id": rep2}])
    lead = site.records.create(SYSTEM, "leads", {"name": "转介绍", "source": "referral"})
    stored = site.records.get(SYSTEM, "leads", lead["id"])
    assert (stored["pool_id"], stored["owner_id"], stored["status"]) == (pool["id"], rep2, "assigned")
