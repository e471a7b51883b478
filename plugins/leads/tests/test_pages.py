"""The leads' pages as a sales rep, in English and Chinese: the demo's lead list, lead pages, pools with
Claim, my leads with days left and the convert dialog speak one language with no raw codes; the convert
dialog shows what it will create and the customer it may attach to."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.testing import page_clients, scan_pages, seed_demo, text_of

from .conftest import SYSTEM, make_leads, make_pool

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REP = "li.na@example.com"


@pytest.fixture
def demo(make_site):
    site = make_site(plugins=("customers", "pools", "leads"), default_locale="en")
    seed_demo(site)
    return site


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_reps_lead_pages_speak_one_language(demo, locale):
    client = page_clients(demo)(REP, locale=locale, timezone="Asia/Shanghai", follow_redirects=True).client
    rep = demo.records.list(SYSTEM, "users", filters={"email": REP}).items[0]
    actor = Actor(user_id=rep["id"], label=REP, role="sales_rep", team_id=rep["team_id"])
    mine = demo.records.list(actor, "leads", filters={"owner_id": rep["id"], "status": "contacting"}, limit=5).items
    pools = demo.records.list(actor, "lead_pools", limit=5).items
    assert mine and len(pools) == 2
    start = ["/r/leads", "/r/leads?sort=-score", "/p/pools/", "/p/pools/holdings?entity=leads", f"/p/leads/convert/{mine[0]['id']}",
             f"/r/leads/{mine[0]['id']}", *(f"/p/pools/lead_pools/{p['id']}" for p in pools)]
    for path in start:
        assert client.get(path).status_code == 200, path
    read, findings = scan_pages(client, demo, locale, start=start, per_shape=2, limit=60)
    assert f"/p/leads/convert/{mine[0]['id']}" in read
    assert [f"{f.path}: {f.text!r} ({f.why})" for f in findings] == [], "\n".join(f"{f.path}: {f.text!r} ({f.why})" for f in findings)
    menu = client.get("/").text
    words = ("线索", "线索池", "我的线索") if locale == "zh_CN" else ("Leads", "Lead pools", "My leads")
    assert all(w in menu for w in words)


def test_the_demo_fills_both_pools_and_every_state(demo):
    leads = demo.records.list(SYSTEM, "leads", limit=100).items
    assert len(leads) == 30
    assert {lead["status"] for lead in leads} == {"new", "assigned", "contacting", "qualified", "converted", "invalid"}
    pools = {p["name"]: p for p in demo.records.list(SYSTEM, "lead_pools").items}
    waiting = [lead for lead in leads if lead["owner_id"] is None]
    assert waiting and {lead["pool_id"] for lead in waiting} == {pools["教育行业线索池"]["id"]}
    assert pools["上海区线索池"]["is_default"] and len({lead["owner_id"] for lead in leads if lead["owner_id"]}) >= 2
    seed_demo(demo)
    assert len(demo.records.list(SYSTEM, "leads", limit=100).items) == 30  # seeding twice changes nothing


def test_the_convert_dialog_shows_what_it_creates_and_the_customer_to_attach_to(site, people):
    browse = page_clients(site)
    rep = people["rep"]
    pool = make_pool(site, people)
    lead = make_leads(site, pool["id"], 1, company="上海云帆科技有限公司", title="总监", owner_id=rep.user_id)[0]
    site.records.create(rep, "followups", {"entity": "leads", "record_id": lead["id"], "method": "call"})
    twin = site.records.create(rep, "customers", {"name": "上海云帆科技", "kind": "company"})
    client, token = browse(people["rep"])
    page = client.get(f"/p/leads/convert/{lead['id']}")
    text = text_of(page.text)
    assert page.status_code == 200 and "上海云帆科技有限公司" in text and "总监" in text
    assert f'value="{twin["id"]}"' in page.text and "1 follow-ups" in text or "1 条跟进" in text
    assert "create_opportunity" not in page.text  # no plugin opens opportunities: not offered
    wrong = client.post(f"/p/leads/convert/{lead['id']}", data={"csrf_token": token, "target": "x"})
    assert wrong.status_code == 422 and "convert-error" in wrong.text
    done = client.post(f"/p/leads/convert/{lead['id']}", data={"csrf_token": token, "target": str(twin["id"])})
    assert done.status_code == 303 and done.headers["location"].endswith(f"/r/customers/{twin['id']}")
    assert site.records.get(SYSTEM, "leads", lead["id"])["customer_id"] == twin["id"]
    again = client.get(f"/p/leads/convert/{lead['id']}")
    assert 'id="converted"' in again.text and 'id="convert-form"' not in again.text
    refused = client.post(f"/p/leads/convert/{lead['id']}", data={"csrf_token": token, "target": "new"})
    assert refused.status_code == 409 and "convert-error" in refused.text


def test_a_lead_nobody_holds_is_not_offered_for_conversion(site, people):
    pool = make_pool(site, people)
    lead = make_leads(site, pool["id"], 1)[0]
    client, _ = page_clients(site)(people["rep"])
    page = client.get(f"/p/leads/convert/{lead['id']}")
    assert page.status_code == 200 and 'id="not-convertible"' in page.text and 'id="convert-form"' not in page.text
