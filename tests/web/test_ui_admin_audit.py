"""The audit log page: filters (dates in the viewer's time zone), pages, CSV download; the REST search shares its query."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor
from kernel.audit import AUDIT
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ROW = re.compile(r'<li class="audit-entry">')


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, default_locale="en")


@pytest.fixture
def app(site):
    return create_app(site=site)


@pytest.fixture
def admin(app, site):
    add_user(site, "admin@example.com", "admin")
    return signed_in(app, "admin@example.com")


def rows(html: str) -> int:
    return len(ROW.findall(html))


@pytest.fixture
def history(site, clock):
    """Notes written by two people on two days (UTC 2026-01-05 09:00 and 2026-01-05 20:00 = Jan 6 04:00 in Shanghai)."""
    ann = add_user(site, "ann.li@example.cn", "sales_rep")
    bob = add_user(site, "bob@example.com", "sales_rep")
    as_ann = Actor(user_id=ann["id"], label=ann["email"], role="sales_rep", channel="ui")
    as_bob = Actor(user_id=bob["id"], label=bob["email"], role="sales_rep", channel="api")
    first = site.records.create(as_ann, "notes", {"title": "morning"})
    site.records.update(as_ann, "notes", first["id"], {"title": "morning, edited", "priority": 4})
    clock.advance(timedelta(hours=11))
    second = site.records.create(as_bob, "notes", {"title": "evening"})
    return first, second


def test_filters_narrow_the_log(site, admin, history):
    client, _ = admin
    first, second = history
    everything = client.get("/admin/audit").text
    assert rows(everything) >= 5
    assert rows(client.get("/admin/audit?entity=notes").text) == 3
    by_record = client.get(f"/admin/audit?entity=notes&record_id={first['id']}").text
    assert rows(by_record) == 2 and f'href="/r/notes/{first["id"]}"' in by_record
    assert "morning, edited" in by_record and "<details>" in by_record
    assert rows(client.get("/admin/audit?actor=ANN.LI&entity=notes").text) == 2  # part of the email, any case
    assert rows(client.get("/admin/audit?action=update").text) == 1
    assert rows(client.get("/admin/audit?channel=api&entity=notes").text) == 1
    assert rows(client.get("/admin/audit?actor=nobody").text) == 0
    wrong = client.get("/admin/audit?record_id=abc&from=yesterday")
    assert wrong.status_code == 422 and 'id="audit-record_id-error"' in wrong.text and 'id="audit-from-error"' in wrong.text


def test_dates_are_days_in_the_viewers_time_zone(site, admin, history):
    client, _ = admin
    client.cookies.set("crm_tz", "Asia/Shanghai")
    jan5 = client.get("/admin/audit?entity=notes&from=2026-01-05&to=2026-01-05").text
    jan6 = client.get("/admin/audit?entity=notes&from=2026-01-06&to=2026-01-06").text
    assert rows(jan5) == 2 and "morning" in jan5 and "evening" not in jan5
    assert rows(jan6) == 1 and "evening" in jan6
    client.cookies.set("crm_tz", "UTC")
    assert rows(client.get("/admin/audit?entity=notes&from=2026-01-05&to=2026-01-05").text) == 3


def test_pages_of_twenty_five_newest_first(site, admin):
    client, _ = admin
    actor = Actor.system("cli")
    site.records.create_many(actor, "notes", [{"title": f"note {n:03d}"} for n in range(120)])
    first = client.get("/admin/audit?entity=notes").text
    assert rows(first) == 25 and "Page 1 of 5" in first
    assert first.index("note 119") < first.index("note 118")
    last = client.get("/admin/audit?entity=notes&page=5").text
    assert rows(last) == 20 and "note 000" in last and 'href="?entity=notes&amp;page=4" rel="prev"' in last


def test_csv_download_of_the_current_search_is_itself_audited(site, admin, history):
    client, _ = admin
    client.cookies.set("crm_tz", "Asia/Shanghai")
    response = client.get("/admin/audit.csv?entity=notes&actor=ann")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert table[0][:3] == ["id", "at", "actor"]
    assert [(r[2], r[7]) for r in table[1:]] == [("ann.li@example.cn", "update"), ("ann.li@example.cn", "create")]
    assert table[1][1].endswith("+08:00")
    with site.engine.connect() as conn:
        export = conn.execute(sa.select(AUDIT).where(AUDIT.c.action == "export")).one()
    assert export.entity == "audit" and export.actor == "admin@example.com" and export.channel == "ui"
    assert export.changes == {"filters": {"entity": "notes", "actor": "ann"}, "rows": 2, "matched": 2}


def test_non_admins_get_403_and_the_rest_search_takes_the_same_filters(app, site, history):
    add_user(site, "rep@example.com", "sales_rep")
    rep, _ = signed_in(app, "rep@example.com")
    assert rep.get("/admin/audit").status_code == 403 and rep.get("/admin/audit.csv").status_code == 403
    boss = add_user(site, "boss@example.com", "admin")
    api = TestClient(app, headers={"Authorization": f"Bearer {issue_token(site, boss['id'])['token']}"})
    found = api.get("/api/v1/audit", params={"actor": "Ann.Li", "entity": "notes"}).json()
    assert found["total"] == 2 and {i["actor"] for i in found["items"]} == {"ann.li@example.cn"}


def test_csv_download_guards_cells_a_spreadsheet_would_run_as_formulas(app, site, admin):
    client, _ = admin
    TestClient(app).post("/api/v1/auth/token", json={"email": "=HYPERLINK(\"http://evil\")@x.cn", "password": "wrong-password"})
    response = client.get("/admin/audit.csv?action=login_failed")
    table = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    actors = [r[2] for r in table[1:]]
    assert actors and all(not a.startswith("=") for a in actors)
    assert '\'=hyperlink("http://evil")@x.cn' in actors
