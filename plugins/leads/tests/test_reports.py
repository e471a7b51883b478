"""Reports on a fixed data set whose numbers were computed by hand: the funnel, conversion by source and
owner, time to first follow-up, recycled leads by reason; under the reader's record rules; the API,
CSV/XLSX downloads, the page in both languages and the funnel widget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel import Period
from kernel.testing import fire_due_timers, page_clients, read_sheet, text_of

from .conftest import make_leads, make_pool
from .support import SYSTEM


@pytest.fixture
def data(site, people, http, clock):
    """Six leads (hand count in the tests):

    ======  ========  =====  ===========  =================================================
    lead    source    owner  status now   history
    ======  ========  =====  ===========  =================================================
    L0      referral  —      new          created 40 days before the others
    L1      web_form  rep    assigned
    L2      web_form  rep    contacting   followed up 2 h after creation
    L3      fair      rep2   converted    followed up 4 h after creation, then converted
    L4      fair      —      new
    L5      web_form  rep2   invalid      found invalid (no need)
    ======  ========  =====  ===========  =================================================
    """
    start = clock.now()
    clock.set(start - timedelta(days=40))
    l0 = site.records.create(SYSTEM, "leads", {"name": "L0", "source": "referral"})
    clock.set(start)
    pool = make_pool(site, people)
    rep, rep2 = people["rep"].user_id, people["rep2"].user_id
    made = {}
    for name, source, owner in (("L1", "web_form", rep), ("L2", "web_form", rep), ("L3", "fair", rep2), ("L4", "fair", None), ("L5", "web_form", rep2)):
        made[name] = site.records.create(SYSTEM, "leads", {"name": name, "source": source, "owner_id": owner, "pool_id": pool["id"]})
    clock.advance(hours=2)
    site.records.create(people["rep"], "followups", {"entity": "leads", "record_id": made["L2"]["id"], "method": "call", "content": "first call"})
    clock.advance(hours=2)
    site.records.create(people["rep2"], "followups", {"entity": "leads", "record_id": made["L3"]["id"], "method": "visit", "content": "visit"})
    converted = http(people["rep2"]).post(f"/api/v1/leads/{made['L3']['id']}/convert", json={})
    assert converted.status_code == 200, converted.text
    site.records.update(SYSTEM, "leads", made["L5"]["id"], {"status": "invalid", "invalid_reason": "no_need"})
    return {"L0": l0, **made, "pool": pool}


def report(http, actor, name, **params):
    answer = http(actor).get(f"/api/v1/plugins/leads/reports/{name}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_funnel(site, people, http, data):
    rows = report(http, people["admin"], "funnel")["rows"]
    assert [(r["key"], r["now"], r["reached"]) for r in rows] == [
        ("new", 2, 6), ("assigned", 1, 4), ("contacting", 1, 2), ("qualified", 0, 1), ("converted", 1, 1), ("invalid", 1, 1),
    ]
    assert rows[1]["share"] == round(4 / 6, 4)
    recent = report(http, people["admin"], "funnel", period="30d")["rows"]  # L0 is older
    assert [(r["key"], r["now"], r["reached"]) for r in recent][:2] == [("new", 1, 5), ("assigned", 1, 4)]


def test_conversion_by_source_and_owner(site, people, http, data):
    by_source = report(http, people["admin"], "conversion", by="source")["rows"]
    assert [(r["key"], r["leads"], r["converted"], r["invalid"], r["rate"]) for r in by_source] == [
        ("web_form", 3, 0, 1, 0.0), ("fair", 2, 1, 0, 0.5), ("referral", 1, 0, 0, 0.0),
    ]
    assert by_source[0]["label"] == {"en": "Web form", "zh_CN": "官网表单"}
    by_owner = {r["key"]: (r["leads"], r["converted"], r["invalid"], r["rate"], r["label"]["en"])
                for r in report(http, people["admin"], "conversion", by="owner")["rows"]}
    rep, rep2 = people["rep"].user_id, people["rep2"].user_id
    assert by_owner == {rep: (2, 0, 0, 0.0, "Rep"), rep2: (2, 1, 1, 0.5, "Rep2"), None: (2, 0, 0, 0.0, "(none)")}
    by_pool = {r["key"]: r["leads"] for r in report(http, people["admin"], "conversion", by="pool")["rows"]}
    assert by_pool[data["pool"]["id"]] == 5


def test_time_to_first_follow_up(site, people, http, data):
    rows = {r["key"]: (r["leads"], r["followed"], r["avg_hours"], r["max_hours"])
            for r in report(http, people["admin"], "first_followup", by="source")["rows"]}
    assert rows == {"web_form": (3, 1, 2.0, 2.0), "fair": (2, 1, 4.0, 4.0), "referral": (1, 0, None, None)}


def test_reports_count_only_what_the_reader_may_see(site, people, http, data):
    outsider = report(http, people["outsider"], "funnel")["rows"]
    assert all(r["now"] == 0 and r["reached"] == 0 for r in outsider)
    mine = {r["key"]: r["leads"] for r in report(http, people["rep"], "conversion", by="owner")["rows"]}
    assert mine.get(people["rep"].user_id) == 2 and people["rep2"].user_id not in mine


def test_recycled_by_reason(site, people, http, clock):
    pool = make_pool(site, people, followup_days=3)
    kept, released, lost = make_leads(site, pool["id"], 3)
    for lead in (kept, released, lost):
        assert http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/claim", json={}).status_code == 200
    assert http(people["rep"]).post(f"/api/v1/leads/{released['id']}/release", json={"reason": "no_interest"}).status_code == 200
    clock.advance(days=1)
    site.records.create(people["rep"], "followups", {"entity": "leads", "record_id": kept["id"], "method": "call", "content": "ok"})
    clock.advance(days=2, hours=1)
    fire_due_timers(site)
    rows = report(http, people["admin"], "recycled")["rows"]
    assert sorted((r["key"], r["how"], r["times"], r["leads"]) for r in rows) == [("followup_days", "return", 1, 1), ("no_interest", "release", 1, 1)]
    labels = {r["key"]: (r["label"]["zh_CN"], r["how_label"]["zh_CN"]) for r in report(http, people["admin"], "recycled")["rows"]}
    assert labels == {"followup_days": ("未按时跟进", "到期自动回收"), "no_interest": ("无意向", "负责人释放")}
    assert report(http, people["admin"], "recycled", period="today")["rows"][0]["key"] == "followup_days"  # the release was 3 days ago


def test_bad_parameters_name_the_field(site, people, http):
    admin = http(people["admin"])
    for params, loc in (({"by": "colour"}, "by"), ({"period": "decade"}, "period"), ({"from": "2026-02-30"}, "from"),
                        ({"from": "2026-02-10", "to": "2026-02-01"}, "to"), ({"format": "pdf"}, "format")):
        answer = admin.get("/api/v1/plugins/leads/reports/conversion", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"]["details"][0]["loc"] == ["query", loc]
    assert admin.get("/api/v1/plugins/leads/reports/nope").status_code == 404


def test_csv_and_xlsx_downloads(site, people, http, data):
    label, label2 = ("新线索", "已分配") if site.settings.default_locale == "zh_CN" else ("New", "Assigned")
    admin = http(people["admin"])
    csv = admin.get("/api/v1/plugins/leads/reports/conversion", params={"by": "source", "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 4 and lines[1].split(",")[1:4] == ["3", "0", "1"]
    xlsx = admin.get("/api/v1/plugins/leads/reports/funnel", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = read_sheet(xlsx.content)
    assert sheet.headers[:3] == (["状态", "当前数量", "曾到达"] if label == "新线索" else ["Status", "Now in this status", "Reached"])
    assert [list(values[:3]) for _line, values in sheet.rows[:2]] == [[label, 2, 6], [label2, 1, 4]]


@pytest.mark.parametrize(("locale", "words"), [("zh_CN", ["线索报表", "转化率", "官网表单", "导出"]), ("en", ["Lead reports", "Conversion rate", "Web form", "Export"])])
def test_the_page_in_both_languages(site, people, data, locale, words):
    client, token = page_clients(site)(people["manager"])
    client.cookies.set("crm_locale", locale)
    page = client.get("/p/leads/reports?report=conversion&by=source")
    assert page.status_code == 200
    text = text_of(page.text)
    for word in words:
        assert word in text, word
    assert "web_form" not in text
    download = client.post("/p/leads/reports/export", data={"csrf_token": token, "report": "conversion", "by": "source", "period": "all", "format": "csv"})
    assert download.status_code == 200 and download.content.decode("utf-8-sig").splitlines()[0].startswith("来源" if locale == "zh_CN" else "Source")
    bad = client.get("/p/leads/reports?report=conversion&by=colour")
    assert bad.status_code == 422


def test_the_funnel_widget(site, people, data, clock):
    widgets = [w for batch in site.view.pm.hook.register_dashboard_widgets() for w in batch or [] if w.name == "leads.funnel"]
    (widget,) = widgets
    chart = widget.data(site=site, actor=people["admin"], now=clock.now(), period=None, locale="zh_CN")
    assert chart["type"] == "funnel" and chart["labels"] == ["新线索", "已分配", "跟进中", "已确认", "已转化"]
    assert chart["series"][0]["values"] == [6, 4, 2, 1, 1]
    from zoneinfo import ZoneInfo

    recent = widget.data(site=site, actor=people["admin"], now=clock.now(), period=Period.of("30d", clock.now(), ZoneInfo("UTC")), locale="en")
    assert recent["series"][0]["values"][0] == 5
    assert widget.data(site=site, actor=people["outsider"], now=clock.now(), period=None, locale="en")["series"][0]["values"] == [0, 0, 0, 0, 0]
