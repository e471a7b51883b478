"""Opportunities on their customer's page: a related card, stage moves in the timeline, follow-ups logged
on an opportunity (activity that resets its rotting clock), and opportunities following a merge."""

from __future__ import annotations

from kernel.testing import page_clients, text_of

from plugins.customers import customer_timeline

from .conftest import make_customer, make_opportunity


def test_the_customer_page_lists_its_opportunities_and_their_moves(site, people, clock):
    rep = people["rep"]
    customer = make_customer(site, rep)
    deal = make_opportunity(site, rep, customer, name="二期扩容", amount="300000.00")
    clock.advance(days=1)
    site.records.act(rep, "opportunities", deal["id"], "move", {"stage": "quote"})
    timeline = customer_timeline(site, rep, customer["id"])
    stages = [e for e in timeline["items"] if e["kind"] == "opportunity_stage"]
    assert [e["title"] for e in stages] == ["二期扩容: 咨询 → 报价 (Inquiry → Quotation)", "二期扩容: 咨询 (Inquiry)"]
    assert stages[0]["record_id"] == deal["id"]
    client, _ = page_clients(site)(people["rep"])
    page = text_of(client.get(f"/r/customers/{customer['id']}").text)
    assert "二期扩容" in page
    manager_view = customer_timeline(site, people["manager"], customer["id"])
    assert len([e for e in manager_view["items"] if e["kind"] == "opportunity_stage"]) == 2  # the rep's team manager sees them too


def test_a_follow_up_on_an_opportunity_is_activity(site, people, clock):
    rep = people["rep"]
    deal = make_opportunity(site, rep, make_customer(site, rep))
    clock.advance(days=3)
    site.records.create(rep, "followups", {"entity": "opportunities", "record_id": deal["id"], "method": "visit", "content": "现场演示"})
    assert site.records.get(rep, "opportunities", deal["id"])["last_activity_at"] == clock.now()
    client, _ = page_clients(site)(people["rep"])
    page = text_of(client.get(f"/r/opportunities/{deal['id']}").text)
    assert "记录跟进" in page  # the opportunity's page offers the follow-up box


def test_opportunities_follow_their_customer_through_a_merge(site, people):
    manager, rep = people["manager"], people["rep"]
    kept, merged = make_customer(site, rep, "华东机械"), make_customer(site, rep, "华东机械有限公司")
    deal = make_opportunity(site, rep, merged)
    site.records.act(manager, "customers", kept["id"], "merge", {"other_id": merged["id"], "fields": {}})
    assert site.records.get(rep, "opportunities", deal["id"])["customer_id"] == kept["id"]
