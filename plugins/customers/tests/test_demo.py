"""``crm demo`` fills the CRM with customers, contacts, follow-ups and tasks, once, so that a rep's
My day, the churn list and the activity widget have something to show (issue 16, observation 5)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from kernel import Actor
from kernel.testing import create_app, seed_demo

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REP, MANAGER = "li.na@example.com", "zhang.wei@example.com"


def test_demo_seeds_customers_with_their_activity_once(site):
    seed_demo(site, Actor.system("cli"))
    admin = Actor.system()
    customers = site.records.list(admin, "customers", limit=50).items
    assert {"杭州云帆科技有限公司", "Northwind Traders Ltd."} <= {c["name"] for c in customers}
    assert all(c["owner_id"] is not None and c["team_id"] is not None for c in customers)  # the owner's team
    assert all(c["last_followed_at"] is not None for c in customers)  # the follow-ups moved it
    counts = {entity: site.records.list(admin, entity).total for entity in ("contacts", "followups", "tasks")}
    assert counts["contacts"] == counts["tasks"] == len(customers) and counts["followups"] > len(customers)
    seed_demo(site, Actor.system("cli"))
    assert site.records.list(admin, "customers").total == len(customers)
    assert {entity: site.records.list(admin, entity).total for entity in counts} == counts


def sign_in(app, email: str, password: str, locale: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("crm_locale", locale)
    token = CSRF.search(client.get("/login").text).group(1)
    answer = client.post("/login", data={"email": email, "password": password, "next": "/", "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return client


@pytest.mark.parametrize(("locale", "words"), [
    ("zh_CN", {"overdue": "已逾期", "activity": "销售跟进活跃度", "churn": "流失预警客户"}),
    ("en", {"overdue": "Overdue", "activity": "Follow-up activity per rep", "churn": "Customers at churn risk"}),
])
def test_after_the_demo_a_reps_my_day_churn_and_the_activity_widget_have_content(site, locale, words):
    seed = seed_demo(site, Actor.system("cli"))
    assert set(seed.passwords) >= {seed.admin_email, REP, MANAGER}  # every demo login, printed once
    app = create_app(site=site)
    rep = sign_in(app, REP, seed.passwords[REP], locale)

    my_day = rep.get("/p/customers/my-day")
    assert my_day.status_code == 200
    assert words["overdue"] in my_day.text and "深圳前海智造股份有限公司" in my_day.text  # an overdue task
    assert "杭州云帆科技有限公司" in my_day.text  # due later today, and its follow-up planned for today

    churn = rep.get("/p/customers/churn").text
    assert "深圳前海智造股份有限公司" in churn  # flagged by the churn job the demo ran
    dashboard = rep.get("/").text
    assert words["churn"] in dashboard

    manager = sign_in(app, MANAGER, seed.passwords[MANAGER], locale)
    board = manager.get("/").text
    assert words["activity"] in board
    names = {"李娜", "Emily Carter", "张伟"}
    assert all(name in board for name in names), "follow-ups by several reps (and the manager) show per rep"


def test_demo_passwords_log_in_and_can_be_reset(site):
    first = seed_demo(site, Actor.system("cli"))
    again = seed_demo(site, Actor.system("cli"))
    assert again.passwords == {} and again.admin_password is None  # nothing to show twice
    reset = seed_demo(site, Actor.system("cli"), reset_passwords=True)
    assert reset.admin_password and set(reset.passwords) == set(first.passwords)
    assert all(reset.passwords[email] != first.passwords[email] for email in first.passwords)
    app = create_app(site=site)
    sign_in(app, REP, reset.passwords[REP], "en")
    sign_in(app, reset.admin_email, reset.admin_password, "en")
    client = TestClient(app, follow_redirects=False)
    token = CSRF.search(client.get("/login").text).group(1)
    old = client.post("/login", data={"email": REP, "password": first.passwords[REP], "next": "/", "csrf_token": token})
    assert old.status_code != 303  # the old password no longer works
