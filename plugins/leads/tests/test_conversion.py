"""Converting a lead: a linked customer and contact (or a contact on the customer the duplicate check
offers), an opportunity when a plugin opens one, follow-ups and tasks moved — all in one transaction."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from kernel import Actor, Site
from kernel.testing import add_custom_field, api_clients, make_people

from . import failingplugin, oppplugin
from .conftest import SYSTEM, make_leads, make_pool
from .support import required_plugins


def held_lead(site: Site, people: dict[str, Actor], http: Any, **values: Any) -> dict[str, Any]:
    pool = make_pool(site, people)
    lead = make_leads(site, pool["id"], 1, title="采购经理", wechat="wx_zhang", region="shanghai", industry="software", **values)[0]
    answer = http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/claim", json={})
    assert answer.status_code == 200, answer.text
    return site.records.get(SYSTEM, "leads", lead["id"])


def counts(site: Site) -> dict[str, int]:
    with site.engine.connect() as conn:
        return {name: conn.scalar(sa.select(sa.func.count()).select_from(site.view.entities[name].table))
                for name in ("customers", "contacts", "tasks")}


def test_conversion_creates_a_linked_customer_and_contact_and_moves_follow_ups_and_tasks(site, people, http):
    rep = people["rep"]
    lead = held_lead(site, people, http)
    followup = site.records.create(rep, "followups", {"entity": "leads", "record_id": lead["id"], "method": "call", "content": "有意向"})
    task = site.records.create(rep, "tasks", {"entity": "leads", "record_id": lead["id"], "title": "发报价"})
    answer = http(rep).post(f"/api/v1/leads/{lead['id']}/convert", json={"create_opportunity": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["opportunity_id"] is None  # no plugin opens opportunities here
    customer = site.records.get(SYSTEM, "customers", body["customer_id"])
    contact = site.records.get(SYSTEM, "contacts", body["contact_id"])
    assert (customer["name"], customer["kind"], customer["owner_id"], customer["region"]) == ("测试公司0号", "company", rep.user_id, "shanghai")
    assert (contact["customer_id"], contact["name"], contact["title"], contact["wechat"], contact["is_primary"]) == (
        customer["id"], "线索 0", "采购经理", "wx_zhang", True)
    converted = site.records.get(SYSTEM, "leads", lead["id"])
    assert converted["status"] == "converted" and converted["converted_at"] is not None
    assert (converted["customer_id"], converted["contact_id"]) == (customer["id"], contact["id"])
    moved_followup, moved_task = site.records.get(SYSTEM, "followups", followup["id"]), site.records.get(SYSTEM, "tasks", task["id"])
    assert (moved_followup["customer_id"], moved_followup["entity"], moved_followup["record_id"]) == (customer["id"], None, None)
    assert (moved_task["customer_id"], moved_task["entity"]) == (customer["id"], None)
    again = http(rep).post(f"/api/v1/leads/{lead['id']}/convert", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict", again.text
    assert "already converted" in again.json()["error"]["message"]


def test_a_lead_without_a_company_becomes_an_individual_customer_and_may_attach_to_an_existing_one(site, people, http):
    rep = people["rep"]
    lone = held_lead(site, people, http, company=None)
    body = http(rep).post(f"/api/v1/leads/{lone['id']}/convert", json={}).json()
    assert site.records.get(SYSTEM, "customers", body["customer_id"])["kind"] == "individual"
    existing = site.records.create(rep, "customers", {"name": "上海既有客户有限公司", "kind": "company"})
    site.records.create(rep, "contacts", {"customer_id": existing["id"], "name": "老联系人", "is_primary": True})
    other = make_leads(site, lone["pool_id"], 1, name="新线索", company="x")[0]
    assert http(rep).post(f"/api/v1/leads/{other['id']}/claim", json={}).status_code == 200
    before = counts(site)["customers"]
    attached = http(rep).post(f"/api/v1/leads/{other['id']}/convert", json={"customer_id": existing["id"]})
    assert attached.status_code == 200, attached.text
    assert attached.json()["customer_id"] == existing["id"] and counts(site)["customers"] == before
    contact = site.records.get(SYSTEM, "contacts", attached.json()["contact_id"])
    assert contact["customer_id"] == existing["id"] and contact["is_primary"] is False  # the customer had a primary contact


def test_attaching_to_a_customer_the_rep_may_not_see_is_a_422_naming_customer_id(site, people, http):
    hidden = site.records.create(SYSTEM, "customers", {"name": "别人的客户", "kind": "company", "owner_id": people["outsider"].user_id})
    lead = held_lead(site, people, http)
    answer = http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/convert", json={"customer_id": hidden["id"]})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"][-1] == "customer_id", answer.text
    assert site.records.get(SYSTEM, "leads", lead["id"])["status"] == "assigned"


def test_an_opportunity_plugin_opens_one_inside_the_conversion(make_site, clock):
    site = make_site(*required_plugins(), oppplugin)
    people = make_people(site)
    client = api_clients(site)(people["rep"])
    pool = make_pool(site, people)
    lead = make_leads(site, pool["id"], 1)[0]
    assert client.post(f"/api/v1/leads/{lead['id']}/claim", json={}).status_code == 200
    body = client.post(f"/api/v1/leads/{lead['id']}/convert", json={"create_opportunity": True}).json()
    opportunity = site.records.get(SYSTEM, "tasks", body["opportunity_id"])
    assert opportunity["customer_id"] == body["customer_id"] and opportunity["title"] == "商机：线索 0"
    assert site.records.get(SYSTEM, "leads", lead["id"])["opportunity_id"] == body["opportunity_id"]


def test_a_failure_in_any_part_leaves_nothing_behind(make_site, clock):
    site = make_site(*required_plugins(), failingplugin)
    people = make_people(site)
    client = api_clients(site)(people["rep"])
    pool = make_pool(site, people)
    lead = make_leads(site, pool["id"], 1)[0]
    assert client.post(f"/api/v1/leads/{lead['id']}/claim", json={}).status_code == 200
    followup = site.records.create(people["rep"], "followups", {"entity": "leads", "record_id": lead["id"], "method": "call"})
    before = counts(site)
    answer = client.post(f"/api/v1/leads/{lead['id']}/convert", json={"create_opportunity": True})
    assert answer.status_code == 409 and "closed for the year" in answer.json()["error"]["message"], answer.text
    assert counts(site) == before
    after = site.records.get(SYSTEM, "leads", lead["id"])
    assert (after["status"], after["customer_id"], after["contact_id"]) == ("contacting", None, None)
    assert site.records.get(SYSTEM, "followups", followup["id"])["entity"] == "leads"
    without = client.post(f"/api/v1/leads/{lead['id']}/convert", json={"create_opportunity": False})
    assert without.status_code == 200 and without.json()["opportunity_id"] is None


@pytest.mark.parametrize("status", ["new", "invalid"])
def test_only_a_held_open_lead_converts_and_the_refusal_lists_the_states_that_do(site, people, http, status):
    pool = make_pool(site, people)
    lead = make_leads(site, pool["id"], 1, owner_id=people["rep"].user_id)[0]
    if status == "new":
        lead = make_leads(site, None, 1, name="无主")[0]
        actor = people["admin"]
    else:
        site.records.update(SYSTEM, "leads", lead["id"], {"status": "invalid", "invalid_reason": "no_need"})
        actor = people["rep"]
    answer = http(actor).post(f"/api/v1/leads/{lead['id']}/convert", json={})
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["details"][0]["allowed"] == ["assigned", "contacting", "qualified"]


def test_the_convert_body_is_checked_field_by_field(site, people, http):
    lead = held_lead(site, people, http)
    wrong = http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/convert", json={"customer_id": "abc", "bogus": 1})
    assert wrong.status_code == 422
    locs = {tuple(d["loc"])[-1] for d in wrong.json()["error"]["details"]}
    assert {"customer_id", "bogus"} <= locs, wrong.text


def test_custom_values_go_to_the_customer_and_contact_fields_of_the_same_name_and_definition(site, people, http):
    for entity in ("leads", "customers"):
        add_custom_field(site, SYSTEM, entity, "campaign_code", {"type": "string", "maxLength": 20, "title": entity})
    add_custom_field(site, SYSTEM, "leads", "budget_band", {"type": "string", "enum": ["S", "M", "L"]})
    add_custom_field(site, SYSTEM, "customers", "budget_band", {"type": "string", "enum": ["small", "large"]})  # other options
    add_custom_field(site, SYSTEM, "leads", "wechat_group", {"type": "string"})
    add_custom_field(site, SYSTEM, "contacts", "wechat_group", {"type": "string"})
    lead = held_lead(site, people, http, custom={"campaign_code": "EXPO-2026", "budget_band": "M", "wechat_group": "华东客户群"})
    answer = http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/convert", json={})
    assert answer.status_code == 200, answer.text
    customer = site.records.get(SYSTEM, "customers", answer.json()["customer_id"])
    contact = site.records.get(SYSTEM, "contacts", answer.json()["contact_id"])
    assert customer["custom"].get("campaign_code") == "EXPO-2026" and customer["custom"].get("budget_band") is None
    assert contact["custom"].get("wechat_group") == "华东客户群" and "campaign_code" not in contact["custom"]
