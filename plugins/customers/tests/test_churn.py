"""The churn job flags active customers whose activity fell below their own history, and clears recovered ones."""

from datetime import timedelta

from kernel.testing import run_due_jobs
from kernel.testing import plugin_module

from .conftest import SYSTEM


def steady_customer(site, clock, name, *, months=12, every_days=15):
    """An active customer created ``months`` ago and followed up every ``every_days`` days until now."""
    start = clock.now() - timedelta(days=30 * months)
    record = site.records.create(SYSTEM, "customers", {"name": name, "status": "active"})
    with site.write() as conn:  # backdate the creation, as an import of old data would
        conn.execute(site.view.entity("customers").table.update().where(site.view.entity("customers").table.c.id == record["id"]).values(created_at=start))
    at = start
    while at < clock.now():
        site.records.create(SYSTEM, "followups", {"customer_id": record["id"], "method": "call", "followed_at": at})
        at += timedelta(days=every_days)
    return record


def test_a_customer_gone_quiet_is_flagged_and_listed_then_cleared(site, people, clock, http):
    quiet = steady_customer(site, clock, "Quiet")
    busy = steady_customer(site, clock, "Busy")
    young = site.records.create(SYSTEM, "customers", {"name": "Young", "status": "active"})
    clock.advance(days=80)  # nothing for Quiet; Busy keeps going
    for days in range(0, 80, 10):
        site.records.create(SYSTEM, "followups", {"customer_id": busy["id"], "method": "visit", "followed_at": clock.now() - timedelta(days=days)})
    outcome = run_due_jobs(site, only="customers.flag_churn")[0]
    assert outcome.status == "done" and outcome.result == {"flagged": 1, "cleared": 0, "failed": 0}
    flagged = http(people["admin"]).get("/api/v1/customers", params={"churn_flag": "true"}).json()["items"]
    assert [c["name"] for c in flagged] == ["Quiet"]
    assert "90" in flagged[0]["churn_reason"] and flagged[0]["churn_flagged_at"] == clock.now().isoformat()
    assert site.records.get(SYSTEM, "customers", young["id"])["churn_flag"] is False  # too little history to judge

    for days in range(0, 40, 8):
        site.records.create(SYSTEM, "followups", {"customer_id": quiet["id"], "method": "call", "followed_at": clock.now() - timedelta(days=days)})
    clock.advance(days=1)
    assert run_due_jobs(site, only="customers.flag_churn")[0].result == {"flagged": 0, "cleared": 1, "failed": 0}
    assert site.records.get(SYSTEM, "customers", quiet["id"])["churn_reason"] is None


def test_purchases_count_as_activity_through_the_hook(make_site, clock):
    def customers_purchase_summary(customer_ids, since, until):
        if since is None:
            return None
        return {customer_id: {"count": 10} for customer_id in customer_ids}  # plenty of recent orders

    shop = plugin_module("shop", requires=["customers"], customers_purchase_summary=customers_purchase_summary)
    site = make_site(shop, plugins=("customers", "shop"))
    steady_customer(site, clock, "Buyer")
    clock.advance(days=80)
    assert run_due_jobs(site, only="customers.flag_churn")[0].result == {"flagged": 0, "cleared": 0, "failed": 0}


def test_window_and_ratio_come_from_settings(make_site, clock):
    site = make_site(plugins=("customers",), plugin_settings={"customers": {"churn_window_days": 30, "churn_ratio": 0.1}})
    steady_customer(site, clock, "Monthly", every_days=20)
    clock.advance(days=25)  # one follow-up expected per 30 days on average is 1.5; 0.1 of that is 0.15: none recent is below
    assert run_due_jobs(site, only="customers.flag_churn")[0].result == {"flagged": 1, "cleared": 0, "failed": 0}


def test_a_customer_whose_check_fails_does_not_stop_the_others(site, clock, monkeypatch, caplog):
    from plugins.customers import churn
    first = steady_customer(site, clock, "First", months=6, every_days=30)
    second = steady_customer(site, clock, "Second", months=6, every_days=30)
    clock.advance(days=120)  # both gone quiet
    real = churn._judge

    def judge(site, config, now, window_start, customer_id, values):
        if customer_id == first["id"]:
            raise RuntimeError("a plugin vetoed the change")
        return real(site, config, now, window_start, customer_id, values)

    monkeypatch.setattr(churn, "_judge", judge)
    outcome = run_due_jobs(site, only="customers.flag_churn")[0]
    assert outcome.status == "done" and outcome.result == {"flagged": 1, "cleared": 0, "failed": 1}
    assert site.records.get(SYSTEM, "customers", second["id"])["churn_flag"] is True
    assert f"churn check of customer {first['id']} failed" in caplog.text
