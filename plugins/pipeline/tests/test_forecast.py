"""The forecast: best case, commit and weighted pipeline by expected close month, won amounts, and
won-amount targets with their attainment — sums checked to the cent, per reader.

Open (expected close, amount, probability): rep O1 2026-01-20 100000.00 80%, O2 2026-02-10 50000.50 30%,
O7 2026-04-01 (outside Jan–Mar); rep2 O3 2026-01-25 20000.00 60%; outsider O4 2026-01-15 40000.00 90%.
Won on 2026-01-05: rep O5 30000.00, rep2 O6 10000.00. Commit from 70%.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from kernel import Actor
from kernel.testing import page_clients, text_of

from plugins.pipeline.forecast import ForecastQuery, forecast

from .conftest import make_customer
from .support import SYSTEM

OPEN = {"O1": ("rep", "2026-01-20", "100000.00", 80), "O2": ("rep", "2026-02-10", "50000.50", 30), "O7": ("rep", "2026-04-01", "7000.00", 90),
        "O3": ("rep2", "2026-01-25", "20000.00", 60), "O4": ("outsider", "2026-01-15", "40000.00", 90)}
WON = {"O5": ("rep", "30000.00"), "O6": ("rep2", "10000.00")}
JAN_TO_MAR = ForecastQuery(date(2026, 1, 1), date(2026, 3, 1))


@pytest.fixture
def deals(site, people):
    customers = {who: make_customer(site, people[who], f"客户 {who}") for who in ("rep", "rep2", "outsider")}
    found: dict[str, Any] = {}
    for name, (who, close, amount, probability) in OPEN.items():
        found[name] = site.records.create(people[who], "opportunities", {"name": name, "customer_id": customers[who]["id"], "amount": amount,
                                                                        "expected_close": close, "probability": probability})
    for name, (who, amount) in WON.items():
        deal = site.records.create(people[who], "opportunities", {"name": name, "customer_id": customers[who]["id"], "amount": amount,
                                                                 "expected_close": "2026-01-31"})
        found[name] = site.records.act(people[who], "opportunities", deal["id"], "move", {"stage": "won"})
    north = people["rep"].team_id
    for values in ({"user_id": people["rep"].user_id, "amount": "60000.00"}, {"team_id": north, "amount": "200000.00"}, {"amount": "100000.00"}):
        site.records.create(SYSTEM, "targets", {"metric": "won_amount", "period": "month", "period_start": "2026-01-01", "currency": "CNY", **values})
    return found


def d(text: str) -> Decimal:
    return Decimal(text)


def months(found: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(m["month"], m["currency"], m["open"], m["best_case"], m["commit"], m["weighted"], m["won"]) for m in found["months"]]


def test_the_open_pipeline_sums_by_month_for_everyone(site, people, deals):
    assert deals["O1"]["probability"] == 80 and deals["O5"]["outcome"] == "won"
    found = forecast(site, people["admin"], JAN_TO_MAR)
    assert found["commit_probability"] == 70
    assert months(found) == [
        # best case 100000 + 20000 + 40000; commit: the 80% and 90% ones; weighted 80000 + 12000 + 36000; won O5 + O6
        ("2026-01", "CNY", 3, d("160000.00"), d("140000.00"), d("128000.00"), d("40000.00")),
        ("2026-02", "CNY", 1, d("50000.50"), d("0.00"), d("15000.15"), d("0.00")),
    ]


def test_a_rep_forecasts_their_own_and_a_manager_their_team(site, people, deals):
    assert months(forecast(site, people["rep"], JAN_TO_MAR)) == [
        ("2026-01", "CNY", 1, d("100000.00"), d("100000.00"), d("80000.00"), d("30000.00")),
        ("2026-02", "CNY", 1, d("50000.50"), d("0.00"), d("15000.15"), d("0.00")),
    ]
    assert months(forecast(site, people["manager"], JAN_TO_MAR))[0] == ("2026-01", "CNY", 2, d("120000.00"), d("100000.00"), d("92000.00"), d("40000.00"))
    owner_only = forecast(site, people["admin"], ForecastQuery(date(2026, 1, 1), date(2026, 1, 1), {"owner_id": people["outsider"].user_id}))
    assert months(owner_only) == [("2026-01", "CNY", 1, d("40000.00"), d("40000.00"), d("36000.00"), d("0.00"))]


def test_targets_get_their_won_amount_attainment_and_the_pipeline_behind_them(site, people, deals):
    found = forecast(site, people["admin"], JAN_TO_MAR)
    rows = {(t["user_id"] and "rep") or (t["team_id"] and "north") or "everyone":
            (t["target"], t["actual"], t["attainment"], t["commit"], t["weighted"], t["projected"], t["projected_attainment"]) for t in found["targets"]}
    assert rows == {
        "rep": (d("60000.00"), d("30000.00"), d("0.5000"), d("100000.00"), d("80000.00"), d("130000.00"), d("2.1667")),
        "north": (d("200000.00"), d("40000.00"), d("0.2000"), d("100000.00"), d("92000.00"), d("140000.00"), d("0.7000")),
        "everyone": (d("100000.00"), d("40000.00"), d("0.4000"), d("140000.00"), d("128000.00"), d("180000.00"), d("1.8000")),
    }
    assert forecast(site, people["admin"], ForecastQuery(date(2026, 2, 1), date(2026, 3, 1)))["targets"] == []


def test_the_api_answers_the_forecast_and_names_a_bad_month(site, people, deals, http):
    rep = http(people["rep"])
    answer = rep.get("/api/v1/plugins/pipeline/forecast", params={"from": "2026-01", "to": "2026-03"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(m["month"], m["weighted"]) for m in body["months"]] == [("2026-01", "80000.00"), ("2026-02", "15000.15")]
    assert [t["attainment"] for t in body["targets"] if t["user_id"] == people["rep"].user_id] == ["0.5000"]
    for params, loc in (({"from": "2026-13"}, "from"), ({"from": "2026-03", "to": "2026-01"}, "to"), ({"to": "2029-01"}, "to"),
                        ({"team_id": "0"}, "team_id")):
        refused = rep.get("/api/v1/plugins/pipeline/forecast", params=params)
        assert refused.status_code == 422 and refused.json()["error"]["details"][0]["loc"] == ["query", loc], (params, refused.text)
    xlsx = rep.get("/api/v1/plugins/pipeline/forecast", params={"from": "2026-01", "to": "2026-03", "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


@pytest.mark.parametrize("who, locale, words", [
    ("rep", "en", ("Sales forecast", "Weighted pipeline", "80,000.00", "15,000.15", "50%")),
    ("rep", "zh_CN", ("销售预测", "加权预测", "80,000.00", "承诺")),
    ("manager", "en", ("Sales forecast", "92,000.00", "Projected attainment", "70%")),
    ("manager", "zh_CN", ("销售预测", "92,000.00", "预计完成率")),
])
def test_the_forecast_page_in_both_languages_as_a_rep_and_a_manager(site, people, deals, who, locale, words):
    client, _csrf = page_clients(site)(people[who])
    client.cookies.set("crm_locale", locale)
    page = client.get("/p/pipeline/forecast", params={"from": "2026-01", "to": "2026-03"})
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    for word in words:
        assert word in text, (word, text[:2000])
    assert "data-chart-options" in page.text


@pytest.mark.parametrize("who, title", [("rep", "我的销售预测"), ("manager", "团队销售预测"), ("executive", "全员销售预测")])
def test_each_role_gets_its_forecast_widget(site, people, deals, who, title):
    if who == "executive":
        boss = site.records.create(SYSTEM, "users", {"email": "executive@example.com", "name": "Boss", "role": "executive"})
        people = {**people, "executive": Actor(user_id=boss["id"], label=boss["email"], role="executive")}
    client, _csrf = page_clients(site)(people[who])
    client.cookies.set("crm_locale", "zh_CN")
    dashboard = text_of(client.get("/").text)
    assert title in dashboard and "销售漏斗" in dashboard
    others = {"我的销售预测", "团队销售预测", "全员销售预测"} - {title}
    assert not any(other in dashboard for other in others)
