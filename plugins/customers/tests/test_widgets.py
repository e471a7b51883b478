"""Dashboard widgets count in SQL what the viewer may see."""

from datetime import timedelta

from kernel.testing import browse  # noqa: F401 - fixture

from .conftest import SYSTEM


def widget(site, name):
    found = {w.name: w for batch in site.view.pm.hook.register_dashboard_widgets() for w in batch or ()}
    return found[name]


def test_new_customers_by_month_respects_record_rules(site, people, clock):
    rep, outsider = people["rep"], people["outsider"]
    site.records.create(rep, "customers", {"name": "January"})
    clock.advance(days=40)
    site.records.create(rep, "customers", {"name": "February"})
    site.records.create(outsider, "customers", {"name": "Not mine"})
    mine = widget(site, "customers.new_by_month").data(site=site, actor=rep, now=clock.now())
    assert mine["labels"][-2:] == ["2026-01", "2026-02"] and mine["series"][0]["values"][-2:] == [1, 1]
    everyone = widget(site, "customers.new_by_month").data(site=site, actor=people["admin"], now=clock.now())
    assert everyone["series"][0]["values"][-2:] == [1, 2]


def test_customers_by_level_industry_region(site, people, clock):
    for level, region in (("A", "浙江"), ("A", "北京"), ("B", "浙江"), (None, None)):
        site.records.create(SYSTEM, "customers", {"name": f"{level}{region}", "level": level, "region": region})
    by_level = widget(site, "customers.by_level").data(site=site, actor=people["admin"], now=clock.now())
    assert dict(zip(by_level["labels"], by_level["series"][0]["values"])) == {"A 类（重点）": 2, "B 类（重要）": 1, "（未填）": 1}
    assert by_level["colours"][:2] == ["#d4380d", "#d48806"]  # each slice in its option's colour
    by_region = widget(site, "customers.by_region").data(site=site, actor=people["admin"], now=clock.now())
    assert by_region["labels"][0] == "浙江" and by_region["series"][0]["values"][0] == 2
    assert widget(site, "customers.by_industry").data(site=site, actor=people["rep"], now=clock.now())["labels"] == []


def test_pies_count_one_slice_per_option_whatever_was_typed(site, people, clock):
    """Issue 15, observation 4: free text made the pies mix Shanghai with 上海 and Retail with 零售."""
    typed = [("上海", "零售"), ("Shanghai", "Retail"), (" shanghai ", "retail"), ("北京", "软件")]
    for index, (region, industry) in enumerate(typed):
        site.records.create(SYSTEM, "customers", {"name": f"C{index}", "region": region, "industry": industry})
    pie = widget(site, "customers.by_region")
    chinese = pie.data(site=site, actor=people["admin"], now=clock.now(), locale="zh_CN")
    assert dict(zip(chinese["labels"], chinese["series"][0]["values"])) == {"上海": 3, "北京": 1}
    english = pie.data(site=site, actor=people["admin"], now=clock.now(), locale="en")
    assert dict(zip(english["labels"], english["series"][0]["values"])) == {"Shanghai": 3, "Beijing": 1}
    by_industry = widget(site, "customers.by_industry").data(site=site, actor=people["admin"], now=clock.now(), locale="en")
    assert dict(zip(by_industry["labels"], by_industry["series"][0]["values"])) == {"Retail": 3, "Software": 1}


def test_followup_activity_per_rep_for_the_managers_team(site, people, clock):
    acme = site.records.create(people["rep"], "customers", {"name": "ACME", "shared_team_ids": [people["rep"].team_id]})
    south = site.records.create(people["outsider"], "customers", {"name": "South Co"})
    for who, customer, count in (("rep", acme, 3), ("rep2", acme, 1), ("outsider", south, 2)):
        for _ in range(count):
            site.records.create(people[who], "followups", {"customer_id": customer["id"], "method": "call"})
    site.records.create(people["rep"], "followups", {"customer_id": acme["id"], "method": "call", "followed_at": clock.now() - timedelta(days=45)})
    data = widget(site, "customers.followups_per_rep").data
    team = [(r["rep"], r["followups"]) for r in data(site=site, actor=people["manager"], now=clock.now())["rows"]]
    assert team == [("Rep", 3), ("Rep2", 1)]
    everyone = [(r["rep"], r["followups"]) for r in data(site=site, actor=people["admin"], now=clock.now())["rows"]]
    assert everyone == [("Rep", 3), ("Outsider", 2), ("Rep2", 1)]


def test_churn_widget_counts_flagged_customers(site, people, clock):
    site.records.create(people["rep"], "customers", {"name": "Risky", "churn_flag": True})
    site.records.create(people["outsider"], "customers", {"name": "Theirs", "churn_flag": True})
    assert widget(site, "customers.churn_risk").data(site=site, actor=people["rep"], now=clock.now())["value"] == 1
    assert widget(site, "customers.churn_risk").data(site=site, actor=people["admin"], now=clock.now())["value"] == 2


def test_the_churn_figure_names_one_customer_or_several_in_english(site, people, browse):
    client, token = browse(people["rep"])
    client.post("/lang", data={"to": "en", "next": "/", "csrf_token": token})
    site.records.create(people["rep"], "customers", {"name": "Risky", "churn_flag": True})
    assert '1 <small>customer</small>' in client.get("/").text
    site.records.create(people["rep"], "customers", {"name": "Riskier", "churn_flag": True})
    assert '2 <small>customers</small>' in client.get("/").text
    client.post("/lang", data={"to": "zh_CN", "next": "/", "csrf_token": token})
    assert '2 <small>个客户</small>' in client.get("/").text
