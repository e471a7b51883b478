"""The funnel of a fixed history of 30 state events equals the figures computed by hand.

The history (hours after the start; the clock is moved before each step). Owners: ``rep`` (A, B, E,
G, H), ``rep2`` (C, F), ``outsider`` of the other team (D). Stages of 企业销售: inquiry 咨询 → needs
需求确认 → quote 报价 → evaluation 方案评估 → negotiation 谈判 → won 赢单 / lost 输单 / invalid 无效.

    t=0  A, B, C created (inquiry)       t=1  D created               t=2  E created
    t=4  B → needs       t=6  A → needs         t=8  C → lost (price)    t=10 D → needs
    t=12 B → quote       t=14 A → quote         t=16 E → invalid         t=18 D → quote
    t=20 B → needs (back)                       t=24 B → quote (again)   t=30 A → evaluation
    t=32 D → lost (competitor)                  t=36 B → evaluation      t=40 A → negotiation
    t=44 B → negotiation t=50 A → won           t=60 B → lost (price)    t=62 F created
    t=64 F → quote (skips needs)                t=72 G created           t=75 G → needs
    t=80 G → quote       t=82 H created         t=84 F → won (skips two) t=90 H → needs

8 creations + 22 moves = 30 events. Amounts: A 100000.00, F 50000.50, the others 1000.00 (CNY).
"""

from __future__ import annotations

import json
import re

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from kernel import state_events_table
from kernel.testing import add_custom_field, page_clients, START, text_of

from plugins.pipeline.funnel import FunnelQuery, funnel

from .conftest import make_customer
from .support import SYSTEM

H = 3600
STEPS: list[tuple[int, str, str | None]] = [  # (hour, opportunity, stage to move to; None: create)
    (0, "A", None), (0, "B", None), (0, "C", None), (1, "D", None), (2, "E", None),
    (4, "B", "needs"), (6, "A", "needs"), (8, "C", "lost"), (10, "D", "needs"),
    (12, "B", "quote"), (14, "A", "quote"), (16, "E", "invalid"), (18, "D", "quote"),
    (20, "B", "needs"), (24, "B", "quote"), (30, "A", "evaluation"), (32, "D", "lost"),
    (36, "B", "evaluation"), (40, "A", "negotiation"), (44, "B", "negotiation"), (50, "A", "won"),
    (60, "B", "lost"), (62, "F", None), (64, "F", "quote"), (72, "G", None), (75, "G", "needs"),
    (80, "G", "quote"), (82, "H", None), (84, "F", "won"), (90, "H", "needs"),
]
OWNERS = {"A": "rep", "B": "rep", "C": "rep2", "D": "outsider", "E": "rep", "F": "rep2", "G": "rep", "H": "rep"}
AMOUNTS = {"A": "100000.00", "F": "50000.50"}
SOURCES = {"D": "exhibition", "E": "exhibition"}
LOST_REASON = {"C": "price", "D": "competitor", "B": "price"}


def play(site: Any, people: dict[str, Any], clock: Any) -> dict[str, dict[str, Any]]:
    """Write the history above through the move action, the clock moved before each step."""
    customers = {who: make_customer(site, people[who], f"客户 {who}") for who in set(OWNERS.values())}
    deals: dict[str, dict[str, Any]] = {}
    for hour, name, stage in STEPS:
        clock.set(START + timedelta(hours=hour))
        owner = people[OWNERS[name]]
        if stage is None:
            values = {"name": f"商机 {name}", "customer_id": customers[OWNERS[name]]["id"], "amount": AMOUNTS.get(name, "1000.00"),
                      "expected_close": "2026-03-15", "source": SOURCES.get(name, "website")}
            deals[name] = site.records.create(owner, "opportunities", values)
            continue
        body: dict[str, Any] = {"stage": stage}
        if stage == "lost":
            body["values"] = {"lost_reason": LOST_REASON[name]}
        if stage == "invalid":
            body["feedback"] = {"reason": "重复录入"}
        deals[name] = site.records.act(owner, "opportunities", deals[name]["id"], "move", body)
    add_custom_field(site, SYSTEM, "opportunities", "industry", {"type": "string", "maxLength": 40}, label={"en": "Industry", "zh_CN": "行业"})
    for name in "AB":  # a custom field to filter on (set after the moves: it moves no stage)
        deals[name] = site.records.update(SYSTEM, "opportunities", deals[name]["id"], {"custom": {"industry": "finance"}})
    return deals


@pytest.fixture
def deals(site, people, clock):
    return play(site, people, clock)


def stage_rows(found: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        row["key"]: (row["entered"], row["moved_on"], row["lost"], row["dropped"], row["conversion"], row["stays"], row["avg_seconds"], row["median_seconds"])
        for row in found["stages"]
    }


def d(text: str) -> Decimal:
    return Decimal(text)


def test_the_history_is_thirty_events(site, deals):
    events = state_events_table()
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events).where(events.c.entity == "opportunities")) == 30


def test_the_whole_history_equals_the_hand_computed_funnel(site, people, deals):
    found = funnel(site, people["admin"], FunnelQuery(deals["A"]["pipeline_id"]))
    # entered, moved on, lost, dropped, conversion, stays, average and median seconds in the stage
    assert stage_rows(found) == {
        # stays 2,3,4,6,8,8,9,14 h: mean 6.75 h, median (6+8)/2 = 7 h
        "inquiry": (8, 6, 2, 2, d("0.7500"), 8, d("24300.0"), d("25200.0")),
        # B twice (counted once); stays 8,8,8,4,5 h: mean 6.6 h, median 8 h
        "needs": (5, 4, 0, 1, d("0.8000"), 5, d("23760.0"), d("28800.0")),
        # B back to needs then forward again: moved on once; D lost; F skips to won; stays 8,16,14,12,20 h
        "quote": (5, 3, 1, 2, d("0.6000"), 5, d("50400.0"), d("50400.0")),
        "evaluation": (2, 2, 0, 0, d("1.0000"), 2, d("32400.0"), d("32400.0")),
        "negotiation": (2, 1, 1, 1, d("0.5000"), 2, d("46800.0"), d("46800.0")),
        "won": (2, None, None, None, None, 0, None, None),
        "lost": (3, None, None, None, None, 0, None, None),
        "invalid": (1, None, None, None, None, 0, None, None),
    }
    assert (found["entered"], found["won"], found["lost"], found["invalid"], found["converted"]) == (8, 2, 3, 1, 2)
    assert found["overall_conversion"] == d("0.2500") and found["win_rate"] == d("0.4000")
    # A won 50 h after its creation, F 22 h: 1.5 days on average; velocity 8 × 0.4 × 75000.25 ÷ 1.5
    assert found["money"] == [{"currency": "CNY", "wins": 2, "won_amount": d("150000.50"), "avg_won_amount": d("75000.25"),
                               "avg_cycle_days": d("1.50"), "velocity": d("160000.53")}]
    assert [(r["code"], r["label"]["zh_CN"], r["count"]) for r in found["lost_reasons"]] == [("price", "价格", 2), ("competitor", "竞争对手", 1)]


def test_a_period_counts_what_entered_and_ended_inside_it(site, people, deals):
    query = FunnelQuery(deals["A"]["pipeline_id"], START + timedelta(hours=12), START + timedelta(hours=40))
    rows = stage_rows(funnel(site, people["admin"], query))
    # only E's 14 h in inquiry ended in the period; nobody entered inquiry in it
    assert rows["inquiry"] == (0, 0, 0, 0, None, 1, d("50400.0"), d("50400.0"))
    # B came back at t=20 and went on at t=24; stays ending 12..36: 8, 8, 8, 4 h
    assert rows["needs"] == (1, 1, 0, 0, d("1.0000"), 4, d("25200.0"), d("28800.0"))
    # A and B on to evaluation, D lost; stays 8, 16, 14, 12 h: mean 12.5 h, median 13 h
    assert rows["quote"] == (3, 2, 1, 1, d("0.6667"), 4, d("45000.0"), d("46800.0"))
    # the move to negotiation at t=40 is outside [12 h, 40 h)
    assert rows["evaluation"] == (2, 0, 0, 2, d("0.0000"), 0, None, None)
    assert rows["won"][0] == 0 and rows["lost"][0] == 1 and rows["invalid"][0] == 1
    found = funnel(site, people["admin"], query)
    assert (found["won"], found["lost"], found["win_rate"], found["overall_conversion"], found["money"]) == (0, 1, d("0.0000"), None, [])


def test_filters_owner_team_source_and_custom_fields(site, people, deals):
    pipeline = deals["A"]["pipeline_id"]
    admin = people["admin"]

    def entered(**filters: Any) -> dict[str, int]:
        found = funnel(site, admin, FunnelQuery(pipeline, filters=filters))
        return {row["key"]: row["entered"] for row in found["stages"] if row["entered"]}

    assert entered(owner_id=people["rep2"].user_id) == {"inquiry": 2, "quote": 1, "won": 1, "lost": 1}  # C and F
    assert entered(team_id=people["outsider"].team_id) == {"inquiry": 1, "needs": 1, "quote": 1, "lost": 1}  # D
    assert entered(source="exhibition") == {"inquiry": 2, "needs": 1, "quote": 1, "lost": 1, "invalid": 1}  # D and E
    assert entered(industry="finance") == {"inquiry": 2, "needs": 2, "quote": 2, "evaluation": 2, "negotiation": 2, "won": 1, "lost": 1}
    rep2 = funnel(site, admin, FunnelQuery(pipeline, filters={"owner_id": people["rep2"].user_id}))
    assert rep2["win_rate"] == d("0.5000") and rep2["overall_conversion"] == d("0.5000")


def test_the_reader_sees_the_funnel_of_the_opportunities_they_may_see(site, people, deals):
    pipeline = deals["A"]["pipeline_id"]
    first = {who: funnel(site, people[who], FunnelQuery(pipeline))["entered"] for who in ("rep", "manager", "outsider", "admin")}
    assert first == {"rep": 5, "manager": 7, "outsider": 1, "admin": 8}


def test_the_api_answers_the_funnel_and_names_a_bad_parameter(site, people, deals, http):
    manager = http(people["manager"])
    answer = manager.get("/api/v1/plugins/pipeline/funnel", params={"from": "2026-01-05", "to": "2026-01-09", "custom.industry": "finance"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["pipeline_id"] == deals["A"]["pipeline_id"] and body["entered"] == 2
    assert [(s["key"], s["entered"]) for s in body["stages"]][:3] == [("inquiry", 2), ("needs", 2), ("quote", 2)]
    assert body["stages"][0]["median_seconds"] == "18000.0"  # A 6 h, B 4 h: 5 h
    for params, loc in (({"from": "2026-13-01"}, "from"), ({"owner_id": "x"}, "owner_id"), ({"pipeline_id": "999"}, "pipeline_id"),
                        ({"custom.nope": "1"}, "custom.nope"), ({"from": "2026-02-01", "to": "2026-01-01"}, "to")):
        refused = manager.get("/api/v1/plugins/pipeline/funnel", params=params)
        assert refused.status_code in (404, 422), (params, refused.text)
        assert refused.json()["error"]["details"][0]["loc"] == ["query", loc], refused.text


def test_the_funnel_downloads_as_csv_and_xlsx(site, people, deals, http):
    manager = http(people["manager"])
    csv = manager.get("/api/v1/plugins/pipeline/funnel", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("阶段,") or lines[0].startswith("Stage,")
    assert any(line.startswith(("咨询,7", "Inquiry,7")) for line in lines), lines
    xlsx = manager.get("/api/v1/plugins/pipeline/funnel", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    with site.engine.connect() as conn:
        exports = conn.execute(sa.text("SELECT count(*) FROM kernel_audit WHERE action = 'export' AND entity = 'pipeline.funnel'")).scalar()
    assert exports == 2



@pytest.mark.parametrize("who, locale, words", [
    ("rep", "en", ("Stage conversion analysis", "Inquiry", "Conversion to next", "Median time in stage", "Win rate", "Price")),
    ("rep", "zh_CN", ("销售阶段转化分析", "咨询", "转化率", "停留时长中位数", "赢率", "价格")),
    ("manager", "en", ("Stage conversion analysis", "Needs confirmed", "Sales velocity (per day)", "Price")),
    ("manager", "zh_CN", ("销售阶段转化分析", "需求确认", "销售速度（每天）", "输单原因")),
])
def test_the_funnel_page_in_both_languages_as_a_rep_and_a_manager(site, people, deals, who, locale, words):
    client, csrf = page_clients(site)(people[who])
    client.cookies.set("crm_locale", locale)
    page = client.get("/p/pipeline/funnel")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    for word in words:
        assert word in text, (word, text[:3000])
    chart = json.loads(re.search(r'data-chart-options>(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    entered = {"rep": [5, 4, 3, 2, 2, 1], "manager": [7, 4, 4, 2, 2, 2]}[who]  # inquiry … negotiation, won
    assert [item["value"] for item in chart["series"][0]["data"]] == entered
    assert chart["series"][0]["type"] == "funnel"
    refused = client.get("/p/pipeline/funnel", params={"from": "2026-02-30"})
    assert refused.status_code == 422 and "from" in text_of(refused.text)
    download = client.post("/p/pipeline/funnel/export", data={"csrf_token": csrf, "format": "csv", "period": "all"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert str(entered[0]) in download.content.decode("utf-8-sig").splitlines()[1]
