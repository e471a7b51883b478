"""Pool reports (page, JSON API, CSV/XLSX) and dashboard widgets, under the reader's record rules."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from kernel import arm_timers

from ..models import HOLDS
from ..reports import Query, run
from ..widgets import about_to_return, claims_and_returns
from .conftest import SYSTEM, make_items, make_pool
from .uisupport import browse, change_hands, text_of  # noqa: F401 - fixture

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
    """Two pools; rep claims 3 from Shanghai (follows one up after 5 h, one after 29 h), rep2 claims 1,
    the manager assigns 2 to rep2 from Beijing; one of rep's is closed; then one is returned
    at its deadline, one released. Returns the pools."""
    rep, rep2 = people["rep"].user_id, people["rep2"].user_id
    shanghai = make_pool(site, member_ids=[rep, rep2], followup_days=7)
    beijing = site.records.create(SYSTEM, "item_pools", {"name": "Beijing", "member_ids": [rep2]})
    a = make_items(site, shanghai["id"], 4)
    b = make_items(site, beijing["id"], 2)
    change_hands(site, [i["id"] for i in a[:3]], rep, "claim", shanghai["id"])
    change_hands(site, [a[3]["id"]], rep2, "claim", shanghai["id"])
    change_hands(site, [i["id"] for i in b], rep2, "assign", beijing["id"], rule="round_robin")
    clock.advance(timedelta(hours=5))
    site.records.update(SYSTEM, "items", a[0]["id"], {"last_activity_at": clock.now()})
    clock.advance(timedelta(hours=24))
    site.records.update(SYSTEM, "items", a[1]["id"], {"last_activity_at": clock.now()})
    with site.write() as conn:  # the closed hook's answer, as the engine keeps it
        conn.execute(sa.update(HOLDS).where(HOLDS.c.record_id == a[1]["id"]).values(counted=False))
    clock.advance(timedelta(days=1))
    change_hands(site, [a[2]["id"]], None, "return", shanghai["id"], reason=None, rule="followup_days")
    change_hands(site, [a[3]["id"]], None, "release", shanghai["id"], reason="no_interest")
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


def test_time_to_first_follow_up(site, people, worked):
    rows = by_key(run(site, SYSTEM, "first_followup", Query("items", "member")))
    assert (rows["Rep"]["taken"], rows["Rep"]["followed"], rows["Rep"]["avg_hours"], rows["Rep"]["max_hours"]) == (3, 2, 17.0, 29.0)
    assert (rows["Rep2"]["taken"], rows["Rep2"]["followed"], rows["Rep2"]["avg_hours"]) == (3, 0, None)


def test_conversion_of_claimed_records(site, people, worked):
    rows = by_key(run(site, SYSTEM, "conversion", Query("items", "member")))
    assert (rows["Rep"]["records"], rows["Rep"]["closed"], rows["Rep"]["rate"]) == (3, 1, 0.3333)
    assert (rows["Rep2"]["closed"], rows["Rep2"]["rate"]) == (0, 0.0)


def test_a_period_leaves_out_what_happened_outside_it(site, people, worked, clock):
    later = Query("items", "member", start=clock.now() - timedelta(hours=1))
    assert {r["label"] for r in run(site, SYSTEM, "claims", later)} == set()
    assert len(run(site, SYSTEM, "returns", later)) == 2


def test_a_rep_reports_only_on_records_they_may_see(site, people, worked):
    rows = by_key(run(site, people["rep"], "claims", Query("items", "member")))
    visible = {r["id"] for r in site.records.list(people["rep"], "items").items}
    assert sum(r["records"] for r in rows.values()) <= len(visible) + 3
    assert "Rep2" not in rows or rows["Rep2"]["records"] <= len(visible)
    outsider = run(site, people["outsider"], "claims", Query("items", "member"))
    assert outsider == []


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
    assert text.startswith("\ufeffMember,Records,Closed,Conversion\r\n") and "Rep,3,1,0.3333" in text
    xlsx = admin.get("/api/v1/plugins/pools/reports/claims?entity=items&by=team&period=all&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["Team", "Claimed", "Assigned by an admin", "Records"], ["North", 4, 2, 6]]
    with site.engine.connect() as conn:
        exported = conn.execute(sa.text("SELECT entity FROM kernel_audit WHERE action = 'export' ORDER BY id")).scalars().all()
    assert exported == ["pools.conversion", "pools.claims"]


def test_the_reports_page_in_both_languages_and_its_export(site, people, worked, browse):
    client, token = browse("admin")
    page = client.get("/p/pools/reports?report=returns&entity=items&by=member&period=all")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Returned at the deadline" in shown and "Released by the owner" in shown and "no_interest" in shown
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
    assert sum(week["series"][0]["values"]) == 6 and sum(week["series"][1]["values"]) == 2
    held = [r["id"] for r in site.records.list(SYSTEM, "items", filters={"owner_id__gte": 1}).items]
    with site.write() as conn:
        arm_timers(conn, "items", held[:1], "pools_return", clock.now() + timedelta(hours=30))
        arm_timers(conn, "items", held[1:2], "pools_return", clock.now() + timedelta(days=10))
    table = about_to_return(site, SYSTEM, clock.now(), locale="en")
    assert [r["left"] for r in table["rows"]] == ["1 d 6 h"]
    nothing = about_to_return(site, people["outsider"], clock.now(), locale="zh_CN")
    assert nothing["rows"] == []
