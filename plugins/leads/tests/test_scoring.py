"""Scoring: the default rules, rules as data through the API (validation naming the field), the score
recomputed on create, update and follow-up, the nightly recency job with the moved clock, the SQL and
Python evaluations agreeing, sorting by score and the lead page's explanation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from kernel.testing import page_clients, run_due_jobs, text_of

from .conftest import make_leads, make_pool
from .support import SYSTEM

RULES = sa.table("leads_score_rules", sa.column("id"), sa.column("kind"))


def score_of(site, lead_id):
    record = site.records.get(SYSTEM, "leads", lead_id)
    return record["score"], [(r["label"]["en"], r["points"]) for r in record["score_reasons"]]


def follow_up(site, actor, lead_id, at):
    return site.records.create(actor, "followups", {"entity": "leads", "record_id": lead_id, "method": "call", "content": "聊了需求", "followed_at": at})


def test_default_rules_score_a_new_lead_and_say_why(site):
    web = site.records.create(SYSTEM, "leads", {"name": "王芳", "phone": "13800138000", "email": "w@example.com", "source": "web_form"})
    assert web["score"] == 35  # web form 20 + phone 10 + email 5
    assert [(r["label"]["zh_CN"], r["points"]) for r in web["score_reasons"]] == [("来源 官网表单", 20), ("留有电话", 10), ("留有邮箱", 5)]
    bare = site.records.create(SYSTEM, "leads", {"name": "无名"})
    assert bare["score"] == 0 and bare["score_reasons"] == []


def test_an_update_rescores(site):
    lead = site.records.create(SYSTEM, "leads", {"name": "李雷"})
    site.records.update(SYSTEM, "leads", lead["id"], {"company": "上海某某科技有限公司", "source": "referral"})
    assert score_of(site, lead["id"]) == (20, [("Source referral", 15), ("Company known", 5)])
    site.records.update(SYSTEM, "leads", lead["id"], {"company": None})
    assert score_of(site, lead["id"])[0] == 15


def test_follow_ups_count_and_recency_fades_with_the_nightly_job(site, people, clock):
    lead = site.records.create(SYSTEM, "leads", {"name": "韩梅梅", "phone": "13900139000"})
    assert score_of(site, lead["id"])[0] == 10
    now = clock.now()
    for hours in (3, 2, 1):
        follow_up(site, SYSTEM, lead["id"], now - timedelta(hours=hours))
    # phone 10 + followed up in the last 7 days 15 + 3 or more follow-ups 10
    assert score_of(site, lead["id"]) == (35, [("Has a phone", 10), ("Followed up in the last 7 days", 15), ("3 or more follow-ups", 10)])
    clock.advance(days=6)
    run_due_jobs(site, clock.now())
    assert score_of(site, lead["id"])[0] == 35
    clock.advance(days=2)  # 8 days after the last follow-up
    outcomes = {o.job: o for o in run_due_jobs(site, clock.now())}
    assert outcomes["leads.rescore"].status == "done"
    assert score_of(site, lead["id"]) == (20, [("Has a phone", 10), ("3 or more follow-ups", 10)])


def test_the_nightly_job_through_the_cli_with_a_moved_clock(site, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kernel.testing import cli

    lead = site.records.create(SYSTEM, "leads", {"name": "赵敏"})
    follow_up(site, SYSTEM, lead["id"], site.clock.now())
    assert score_of(site, lead["id"])[0] == 15
    config = tmp_path / "crm.toml"
    config.write_text(f'[crm]\ndatabase_url = "{site.settings.database_url}"\nplugins = ["customers", "pools", "leads"]\n', encoding="utf-8")
    later = (site.clock.now() + timedelta(days=10)).isoformat()
    result = CliRunner().invoke(cli(), ["--config", str(config), "jobs", "run", "--now", later])
    assert result.exit_code == 0, result.output
    assert score_of(site, lead["id"])[0] == 0


def test_sql_and_python_agree(site, people):
    """Every lead scored by the hooks is left as it is by the set-based rescore."""
    pool = make_pool(site, people)
    leads = make_leads(site, pool["id"], 6, source="web_form")
    site.records.update(SYSTEM, "leads", leads[0]["id"], {"source": "referral", "company": None})
    site.records.create(SYSTEM, "leads", {"name": "X", "custom": {}, "wechat": "wx1"})
    with site.write() as conn:
        from plugins.leads import scoring

        assert scoring.rescore(site, conn, site.clock.now()) == 0


def test_rules_are_data_edited_through_the_api(site, people, http):
    admin = http(people["admin"])
    listed = admin.get("/api/v1/plugins/leads/scoring/rules").json()
    assert [r["kind"] for r in listed["rules"]] == ["field", "field", "filled", "filled", "filled", "recency", "followups"]
    lead = site.records.create(SYSTEM, "leads", {"name": "周杰", "industry": "education"})
    assert lead["score"] == 0
    created = admin.post("/api/v1/plugins/leads/scoring/rules", json={"kind": "field", "field": "industry", "values": ["education"], "points": 30})
    assert created.status_code == 201, created.text
    assert created.json()["label"] == {"en": "Industry education", "zh_CN": "行业 education"} or created.json()["label"]["en"].startswith("Industry")
    assert score_of(site, lead["id"])[0] == 30  # every lead rescored in the rule's transaction
    rule_id = created.json()["id"]
    assert admin.patch(f"/api/v1/plugins/leads/scoring/rules/{rule_id}", json={"points": 120}).status_code == 422
    assert admin.patch(f"/api/v1/plugins/leads/scoring/rules/{rule_id}", json={"points": 45, "label": {"en": "Schools", "zh_CN": "教育行业"}}).status_code == 200
    assert score_of(site, lead["id"]) == (45, [("Schools", 45)])
    assert admin.request("DELETE", f"/api/v1/plugins/leads/scoring/rules/{rule_id}").status_code == 204
    assert score_of(site, lead["id"])[0] == 0
    assert http(people["rep"]).get("/api/v1/plugins/leads/scoring/rules").status_code == 404


@pytest.mark.parametrize(("body", "loc"), [
    ({"kind": "colour", "points": 5}, "kind"),
    ({"kind": "field", "field": "shoe_size", "values": ["42"], "points": 5}, "field"),
    ({"kind": "field", "field": "source", "values": ["carrier_pigeon"], "points": 5}, "values"),
    ({"kind": "field", "field": "source", "values": [], "points": 5}, "values"),
    ({"kind": "recency", "number": 0, "points": 5}, "number"),
    ({"kind": "filled", "field": "phone", "points": "many"}, "points"),
    ({"kind": "filled", "field": "phone", "points": 5, "label": {"fr": "x"}}, "label"),
    ({"kind": "filled", "field": "score", "points": 5}, "field"),
    ({"kind": "filled", "field": "phone", "points": 5, "colour": "red"}, "colour"),
])
def test_a_wrong_rule_is_a_422_naming_the_field(site, people, http, body, loc):
    answer = http(people["admin"]).post("/api/v1/plugins/leads/scoring/rules", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["loc"] == ["body", loc]


def test_custom_field_rules(site, people, http):
    from kernel.testing import add_custom_field

    add_custom_field(site, SYSTEM, "leads", "budget_level", {"type": "string", "enum": ["high", "low"]}, label={"en": "Budget", "zh_CN": "预算"})
    admin = http(people["admin"])
    answer = admin.post("/api/v1/plugins/leads/scoring/rules", json={"kind": "field", "field": "custom.budget_level", "values": ["high"], "points": 25})
    assert answer.status_code == 201, answer.text
    assert answer.json()["label"] == {"en": "Budget high", "zh_CN": "预算 high"}
    rich = site.records.create(SYSTEM, "leads", {"name": "富", "custom": {"budget_level": "high"}})
    poor = site.records.create(SYSTEM, "leads", {"name": "穷", "custom": {"budget_level": "low"}})
    assert (rich["score"], poor["score"]) == (25, 0)
    with site.write() as conn:
        from plugins.leads import scoring

        assert scoring.rescore(site, conn, site.clock.now()) == 0


def test_lists_sort_by_score(site, people, http):
    for name, values in (("低", {}), ("高", {"source": "web_form", "phone": "13700137000"}), ("中", {"phone": "13600136000"})):
        site.records.create(SYSTEM, "leads", {"name": name, **values})
    items = http(people["admin"]).get("/api/v1/leads?sort=-score").json()["items"]
    assert [i["name"] for i in items] == ["高", "中", "低"]


@pytest.mark.parametrize(("locale", "expected"), [("zh_CN", ["来源 官网表单 +20", "2 天前跟进 +15"]), ("en", ["Source web form +20", "followed up 2 days ago +15"])])
def test_the_lead_page_says_why(site, people, clock, locale, expected):
    lead = site.records.create(SYSTEM, "leads", {"name": "陈晨", "source": "web_form"})
    follow_up(site, SYSTEM, lead["id"], clock.now())
    clock.advance(days=2)
    sign_in = page_clients(site)
    client, _token = sign_in(people["admin"])
    client.cookies.set("crm_locale", locale)
    page = client.get(f"/p/leads/scoring/why/{lead['id']}", headers={"Accept-Language": locale.replace("_", "-")})
    assert page.status_code == 200
    text = text_of(page.text)
    for words in expected:
        assert words in text
    detail = client.get(f"/r/leads/{lead['id']}")
    assert f"/p/leads/scoring/why/{lead['id']}" in detail.text
    outsider, _ = sign_in(people["outsider"])
    assert outsider.get(f"/p/leads/scoring/why/{lead['id']}").status_code == 404


@pytest.mark.parametrize(("locale", "words"), [("zh_CN", ["线索评分", "来源 官网表单", "跟进 3 次以上", "添加规则"]),
                                               ("en", ["Lead scoring", "Source web form", "3 or more follow-ups", "Add a rule"])])
def test_the_rules_page_in_both_languages(site, people, locale, words):
    from kernel.testing import scan_pages

    sign_in = page_clients(site)
    client, token = sign_in(people["manager"])
    client.cookies.set("crm_locale", locale)
    page = client.get("/p/leads/scoring")
    assert page.status_code == 200
    text = text_of(page.text)
    for word in words:
        assert word in text, word
    refused = client.post("/p/leads/scoring", data={"csrf_token": token, "kind": "field", "field": "source", "values": "carrier_pigeon", "points": "5"})
    assert refused.status_code == 422 and 'id="e-values"' in refused.text
    wrong_number = client.post("/p/leads/scoring", data={"csrf_token": token, "kind": "recency", "number": "soon", "points": "5"})
    assert wrong_number.status_code == 422 and 'id="e-number"' in wrong_number.text
    added = client.post("/p/leads/scoring", data={"csrf_token": token, "kind": "filled", "field": "wechat", "points": "7", "active": "on"})
    assert added.status_code == 303
    lead = site.records.create(SYSTEM, "leads", {"name": "微信", "wechat": "wx-1"})
    assert lead["score"] == 7
    with site.engine.connect() as conn:
        rule_id = conn.scalar(sa.select(sa.func.max(RULES.c.id)))
    edited = client.post(f"/p/leads/scoring/{rule_id}", data={"csrf_token": token, "kind": "filled", "field": "wechat", "points": "9", "active": "on"})
    assert edited.status_code == 303 and score_of(site, lead["id"])[0] == 9
    assert client.post(f"/p/leads/scoring/{rule_id}/delete", data={"csrf_token": token}).status_code == 303
    assert score_of(site, lead["id"])[0] == 0
    _paths, findings = scan_pages(client, site, locale, start=["/p/leads/scoring"], limit=12)
    assert [f for f in findings if f.path.startswith("/p/leads/") and f.text not in ("Manager", "Rep", "Rep2")] == [], findings
    rep, _ = sign_in(people["rep"])
    assert rep.get("/p/leads/scoring").status_code == 404
