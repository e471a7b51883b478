"""Pool reports (page, JSON API, CSV/XLSX) and dashboard widgets, under the reader's record rules."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from kernel.testing import browse, fire_due_timers, text_of  # noqa: F401 - fixture

from .. import assign, claim, release
from ..reports import Query, run
from ..widgets import about_to_return, claims_and_returns
from .conftest import SYSTEM, make_items, make_pool
from .closing import close

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def site(make_site):
    from plugins.pools import plugin as pools_plugin

    from . import poolplugin

    built = make_site(pools_plugin, poolplugin, default_locale="en")
    poolplugin.create_tables(built.engine)
    return built


@pytest.fixture
def worked(site, people, clock):
    """Two pools. On Monday 5 January 09:00 rep claims 3 from Shanghai, rep2 claims 1, the manager assigns
    2 from Beijing to rep2; rep follows one up 5 h later, another 29 h later, and closes that one; rep2
    releases theirs; on 12 January 10:00 the job has returned rep's third (7 days without follow-up)."""
    rep, rep2, manager = people["rep"], people["rep2"], people["manager"]
    shanghai = make_pool(site, member_ids=[rep.user_id, rep2.user_id], admin_ids=[manager.user_id], followup_days=7)
    beijing = site.records.create(SYSTEM, "item_pools", {"name": "Beijing", "member_ids": [rep2.user_id], "admin_ids": [manager.user_id]})
    a = make_items(site, shanghai["id"], 4)
    b = make_items(site, beijing["id"], 2)
    for item in a[:3]:
        claim(site, rep, "items", item["id"])
    claim(site, rep2, "items", a[3]["id"])
    assign(site, manager, "items", [i["id"] for i in b], rep2.user_id, reason="new in town")
    clock.advance(timedelta(hours=5))
    site.records.update(rep, "items", a[0]["id"], {"last_activity_at": clock.now()})
    clock.advance(timedelta(hours=24))
    site.records.update(rep, "items", a[1]["id"], {"last_activity_at": clock.now()})
    close(site, [a[1]["id"]])
    release(site, rep2, "items", a[3]["id"], "no_interest")
    clock.advance(timedelta(days=6, hours=-4))  # 12 January 10:00
    fire_due_timers(site)
    assert site.records.get(SYSTEM, "items", a[2]["id"])["owner_id"] is None
    assert site.records.get(SYSTEM, "items", a[0]["id"])["owner_id"] == rep.user_id
    return shanghai, beijing


def by_key(rows):
    return {row["label"]: row for row in rows}


def test_claims_per_member_team_and_pool(site, people, worked):
    shanghai, beijing = worked
    everything = Query("items", "member")
    rows = by_key(run(site, SYSTEM, "claims", everything))
    assert (rows["Rep"]["claims"], rows["Rep"]["assigned"], rows["Rep"]["records"]) == (3, 0, 3)
    assert (rows["Rep2"]["claims"], rows["Rep2"]["assigned"], rows["Rep2"]["records"]) == (1, 2, 3)
    teams = by_key(run(site, SYSTEM, "claims", Query("items", "team")))
    assert teams["North"]["records"] == 6
    pools = by_key(run(site, SYSTEM, "claims", Query("items", "pool")))
    assert (pools["Shanghai"]["claims"], pools["Beijing"]["assigned"]) == (4, 2)


def test_returns_by_reason(site, people, worked):
    rows = run(site, SYSTEM, "returns", Query("items", "member"))
    found = {(r["label"], r["how"], r["reason"]): r["returns"] for r in rows}
    assert found == {("Rep", "return", "followup_days"): 1, ("Rep2", "release", "no_interest"): 1}
    by_pool = run(site, SYSTEM, "returns", Query("items", "pool"))
    assert {(r["label"], r["reason_label"]["en"]) for r in by_pool} == {("Shanghai", "Not followed up in time"), ("Shanghai", "No interest")}


def test_time_to_first_follow_up(site, people, worked):
    rows = by_key(run(site, SYSTEM, "first_followup", Query("items", "member")))
    assert (rows["Rep"]["taken"], rows["Rep"]["followed"], rows["Rep"]["avg_hours"], rows["Rep"]["max_hours"]) == (3, 2, 17.0, 29.0)
    assert (rows["Rep2"]["taken"], rows["Rep2"]["followed"], rows["Rep2"]["avg_hours"]) == (3, 0, None)


def test_conversion_of_claimed_records(site, people, worked):
    rows = by_key(run(site, SYSTEM, "conversion", Query("items", "member")))
    assert (rows["Rep"]["records"], rows["Rep"]["closed"], rows["Rep"]["rate"]) == (3, 1, 0.3333)
    assert (rows["Rep2"]["closed"], rows["Rep2"]["rate"]) == (0, 0.0)


def test_a_period_leaves_out_what_happened_outside_it(site, people, worked, clock):
    later = Query("items", "member", start=clock.now() - timedelta(hours=2))
    assert run(site, SYSTEM, "claims", later) == []
    assert [(r["label"], r["how"]) for r in run(site, SYSTEM, "returns", later)] == [("Rep", "return")]


def test_a_rep_reports_only_on_records_they_may_see(site, people, worked):
    rows = by_key(run(site, people["rep"], "claims", Query("items", "member")))
    # rep sees what they hold and Shanghai's unowned records (the returned and the released one), not rep2's Beijing ones
    assert (rows["Rep"]["records"], rows["Rep2"]["records"]) == (3, 1)
    assert run(site, people["outsider"], "claims", Query("items", "member")) == []


def test_the_json_api_and_its_refusals(site, people, worked, http):
    manager = http(people["admin"])
    answer = manager.get("/api/v1/plugins/pools/reports/claims?entity=items&by=pool&period=all")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["report"] == "claims" and body["by"] == "pool"
    assert {r["label"]: r["records"] for r in body["rows"]} == {"Shanghai": 4, "Beijing": 2}
    assert [c["key"] for c in body["columns"]] == ["claims", "assigned", "records"]
    bad = manager.get("/api/v1/plugins/pools/reports/claims?by=planet")
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["query", "by"]
    bad = manager.get("/api/v1/plugins/pools/reports/claims?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["query", "to"]
    assert manager.get("/api/v1/plugins/pools/reports/nothing").status_code == 404
    ranged = manager.get("/api/v1/plugins/pools/reports/returns?from=2026-01-01&to=2026-12-31").json()
    assert sum(r["returns"] for r in ranged["rows"]) == 2


def test_csv_and_xlsx_downloads_are_audited(site, people, worked, http):
    admin = http(people["admin"])
    csv = admin.get("/api/v1/plugins/pools/reports/conversion?entity=items&period=all&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeffMember,Records,Closed,Conversion\r\n") and "Rep,3,1,0.3333\r\n" in text
    xlsx = admin.get("/api/v1/plugins/pools/reports/claims?entity=items&by=team&period=all&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["Team", "Claimed", "Assigned by an admin", "Records"], ["North", 4, 2, 6]]
    with site.engine.connect() as conn:
        exported = conn.execute(sa.text("SELECT entity FROM kernel_audit WHERE action = 'export' ORDER BY id")).scalars().all()
    assert exported == ["pools.conversion", "pools.claims"]


def test_the_reports_page_in_both_languages_and_its_export(site, people, worked, browse):
    client, token = browse(people["admin"])
    page = client.get("/p/pools/reports?report=returns&entity=items&by=member&period=all")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Returned at the deadline" in shown and "Released by the owner" in shown
    assert "Not followed up in time" in shown and "No interest" in shown
    empty = client.get("/p/pools/reports?report=claims&period=today")
    assert "Nothing in this period." in empty.text
    bad = client.get("/p/pools/reports?report=claims&period=forever")
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    client.cookies.set("crm_locale", "zh_CN")
    chinese = text_of(client.get("/p/pools/reports?report=conversion&period=all").text)
    assert "领取记录转化率" in chinese and "转化率" in chinese and "33.3%" in chinese
    download = client.post("/p/pools/reports/export", data={"csrf_token": token, "report": "claims", "entity": "items", "by": "member", "period": "all", "format": "csv"})
    assert download.status_code == 200 and download.content.decode("utf-8").startswith("\ufeff成员,领取,管理员分配,记录数")


def test_widgets_count_this_week_and_list_what_is_about_to_return(site, people, worked, clock):
    week = claims_and_returns(site, SYSTEM, clock.now(), locale="en")
    assert week["labels"][0] == "Mon"
    assert week["series"][0]["values"] == [0] * 7  # the claims were last week
    assert week["series"][1]["values"] == [1, 0, 0, 0, 0, 0, 0]  # the job's return, this Monday
    last_week = claims_and_returns(site, SYSTEM, clock.now() - timedelta(days=7), locale="zh_CN")
    assert last_week["labels"][0] == "周一" and last_week["series"][0]["values"][0] == 6 and sum(last_week["series"][1]["values"]) == 1
    table = about_to_return(site, SYSTEM, clock.now(), locale="en")
    assert [(r["record"], r["owner"], r["left"]) for r in table["rows"]] == [("item 0", "Rep", "0 d 4 h")]
    assert about_to_return(site, people["rep"], clock.now(), locale="zh_CN")["rows"][0]["left"] == "0 天 4 小时"
    assert about_to_return(site, people["outsider"], clock.now())["rows"] == []


def test_the_widgets_render_on_a_reps_dashboard(site, people, worked, browse):
    client, _ = browse(people["rep"])
    page = client.get("/")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Claims and returns this week" in shown and "Records about to return to their pool" in shown
    assert "This widget is unavailable right now." not in shown
    assert "item 0" in shown  # rep's record due in 4 hours
    menu = text_of(page.text.split('class="sidebar"')[1].split("</nav>")[0]) if 'class="sidebar"' in page.text else shown
    assert "My holdings" in menu and "Pools" in menu and "Pool reports" in menu
