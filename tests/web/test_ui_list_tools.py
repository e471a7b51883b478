"""The list page's tools: saved views per user, bulk assign and export."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor, fielddefs, ownership
from kernel.models import AuditEntry, SavedView
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, default_locale="en")
    fielddefs.add_field(site, SYSTEM, "notes", "rating", {"type": "string", "enum": ["hot", "warm", "cold"]}, label={"en": "Rating", "zh_CN": "评级"})
    return site


@pytest.fixture
def app(site):
    return create_app(site=site)


@pytest.fixture
def people(site):
    team = site.records.create(SYSTEM, "teams", {"name": "East"})
    found = {
        "admin": add_user(site, "admin@example.com", "admin"),
        "boss": site.records.create(SYSTEM, "users", {"email": "boss@example.com", "name": "Boss", "password": "s3cret-pass", "role": "sales_manager", "team_id": team["id"]}),
        "ann": site.records.create(SYSTEM, "users", {"email": "ann@example.com", "name": "Ann", "password": "s3cret-pass", "role": "sales_rep", "team_id": team["id"]}),
        "rep": add_user(site, "rep@example.com", "sales_rep"),
        "exec": add_user(site, "exec@example.com", "executive"),
        "gone": site.records.create(SYSTEM, "users", {"email": "gone@example.com", "name": "Gone", "role": "sales_rep", "active": False}),
    }
    return found


def notes(site: Any, *rows: dict[str, Any]) -> list[int]:
    return site.records.create_many(SYSTEM, "notes", list(rows))


def stored_views(site: Any) -> list[dict[str, Any]]:
    with site.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(SavedView.__table__).order_by(SavedView.id))]


def audit_actions(site: Any, entity: str) -> list[str]:
    with site.engine.connect() as conn:
        return list(conn.scalars(sa.select(AuditEntry.action).where(AuditEntry.entity == entity).order_by(AuditEntry.id)))


def rows_of(html: str) -> list[str]:
    return re.findall(r'class="record-link[^"]*" href="/r/notes/\d+"[^>]*>([^<]*)</a>', html)


# -- saved views -------------------------------------------------------------------------------


def test_save_list_and_apply_a_view(app, site, people):
    notes(site, {"title": "Call ACME", "priority": 5, "custom": {"rating": "hot"}}, {"title": "Someday", "priority": 1, "custom": {"rating": "cold"}},
          {"title": "Visit Huawei", "priority": 4, "custom": {"rating": "hot"}})
    client, token = signed_in(app, "admin@example.com")
    assert "No saved views yet." in client.get("/r/notes").text
    saved = client.post("/r/notes/views?f.custom.rating=hot&sort=-priority&page=2&junk=1", data={"csrf_token": token, "name": " Hot first ", "shared": "1"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/r/notes?sort=-priority&f.custom.rating=hot&view_saved=1"
    [view] = stored_views(site)
    assert (view["name"], view["query"], view["shared"], view["entity"]) == ("Hot first", "sort=-priority&f.custom.rating=hot", True, "notes")
    assert audit_actions(site, "saved_views") == ["create"]

    everything = client.get("/r/notes").text
    assert 'href="/r/notes?sort=-priority&amp;f.custom.rating=hot"' in everything and "Hot first" in everything
    assert 'aria-current="true">Hot first' not in everything  # not applied yet
    applied = client.get("/r/notes?sort=-priority&f.custom.rating=hot").text
    assert rows_of(applied) == ["Call ACME", "Visit Huawei"]
    assert 'aria-current="true">Hot first' in applied and "View: Hot first" in applied  # highlighted
    assert 'aria-current="true">Hot first' in client.get("/r/notes?f.custom.rating=hot&sort=-priority&page=1").text


def test_view_names_are_checked_and_errors_shown_in_the_form(app, site, people):
    client, token = signed_in(app, "admin@example.com")
    empty = client.post("/r/notes/views?q=acme", data={"csrf_token": token, "name": "   "})
    assert empty.status_code == 422
    assert '<p class="error" id="view-name-error">Give the view a name.</p>' in empty.text
    assert '<details class="views-menu" open>' in empty.text and 'value="acme"' in empty.text  # the list as it was
    long = client.post("/r/notes/views", data={"csrf_token": token, "name": "x" * 81})
    assert long.status_code == 422 and "at most 80 characters" in long.text
    assert client.post("/r/notes/views", data={"csrf_token": token, "name": "Mine"}).status_code == 303
    again = client.post("/r/notes/views?q=other", data={"csrf_token": token, "name": "Mine", "shared": "1"})
    assert again.status_code == 409 and "A view with this name already exists." in again.text
    assert 'value="Mine"' in again.text and "checked" in again.text.split('name="shared"')[1][:40]
    assert [v["name"] for v in stored_views(site)] == ["Mine"]
    client.cookies.set("crm_locale", "zh_CN")
    chinese = client.post("/r/notes/views", data={"csrf_token": token, "name": ""})
    assert "请为视图命名。" in chinese.text


def test_shared_views_are_seen_by_others_private_ones_are_not(app, site, people):
    admin, admin_token = signed_in(app, "admin@example.com")
    rep, rep_token = signed_in(app, "rep@example.com")
    admin.post("/r/notes/views?f.priority=5", data={"csrf_token": admin_token, "name": "Team urgent", "shared": "1"})
    admin.post("/r/notes/views?f.priority=1", data={"csrf_token": admin_token, "name": "Admin private"})
    shared, private = stored_views(site)

    page = rep.get("/r/notes").text
    assert "Team urgent" in page and "Admin private" not in page
    assert f"/r/notes/views/{shared['id']}/delete" not in page  # no delete button for someone else's view
    assert rep.get(f"/r/notes/views/{shared['id']}/delete").status_code == 403
    assert rep.post(f"/r/notes/views/{shared['id']}/delete", data={"csrf_token": rep_token}).status_code == 403
    assert rep.post(f"/r/notes/views/{private['id']}/delete", data={"csrf_token": rep_token}).status_code == 404
    assert len(stored_views(site)) == 2

    rep.post("/r/notes/views?q=call", data={"csrf_token": rep_token, "name": "Team urgent"})  # same name, another user: fine
    rep.post("/r/notes/views?q=mine", data={"csrf_token": rep_token, "name": "Rep private"})
    rep.post("/r/notes/views?q=ours", data={"csrf_token": rep_token, "name": "Rep shared", "shared": "1"})
    by_name = {(v["name"], v["user_id"]): v for v in stored_views(site)}
    rep_private = by_name[("Rep private", people["rep"]["id"])]
    rep_shared = by_name[("Rep shared", people["rep"]["id"])]
    admin_page = admin.get("/r/notes").text
    assert "Rep private" not in admin_page and "Rep shared" in admin_page
    assert admin.post(f"/r/notes/views/{rep_private['id']}/delete", data={"csrf_token": admin_token}).status_code == 404
    asked = admin.get(f"/r/notes/views/{rep_shared['id']}/delete")
    assert asked.status_code == 200 and "Delete the view Rep shared?" in asked.text and "nobody will find it" in asked.text
    assert admin.post(f"/r/notes/views/{rep_shared['id']}/delete", data={"csrf_token": admin_token}).headers["location"] == "/r/notes?view_deleted=1"
    own = rep.post(f"/r/notes/views/{rep_private['id']}/delete", data={"csrf_token": rep_token})
    assert own.status_code == 303 and "View deleted." in rep.get(own.headers["location"]).text
    assert sorted(v["name"] for v in stored_views(site)) == ["Admin private", "Team urgent", "Team urgent"]
    assert audit_actions(site, "saved_views").count("delete") == 2


def test_saving_and_deleting_views_need_the_csrf_token(app, site, people):
    client, token = signed_in(app, "admin@example.com")
    assert client.post("/r/notes/views", data={"name": "No token"}).status_code == 403
    assert client.post("/r/notes/views", data={"name": "Bad token", "csrf_token": token[:-2] + ("00" if not token.endswith("00") else "11")}).status_code == 403
    assert stored_views(site) == []
    client.post("/r/notes/views", data={"csrf_token": token, "name": "Kept"})
    [view] = stored_views(site)
    assert client.post(f"/r/notes/views/{view['id']}/delete", data={}).status_code == 403
    assert len(stored_views(site)) == 1


# -- bulk assign -------------------------------------------------------------------------------


def test_bulk_assign_asks_then_reassigns_in_one_go_with_history(app, site, people):
    ids = notes(site, {"title": "a", "owner_id": people["rep"]["id"]}, {"title": "b"}, {"title": "c", "owner_id": people["rep"]["id"]})
    client, token = signed_in(app, "admin@example.com")
    page = client.get("/r/notes").text
    assert '<select id="bulk-owner" name="owner_id">' in page
    options = re.findall(r'<option value="(\d+)">([^<]*)</option>', page.split('id="bulk-owner"')[1].split("</select>")[0])
    assert ("%d" % people["ann"]["id"], "Ann (ann@example.com)") in options
    assert str(people["gone"]["id"]) not in [value for value, _ in options]  # inactive users are not offered

    asked = client.post("/r/notes/bulk-assign?q=&sort=title", data={"csrf_token": token, "ids": [str(ids[0]), str(ids[1])], "owner_id": str(people["ann"]["id"])})
    assert asked.status_code == 200 and "Assign 2 records?" in asked.text
    assert f'<option value="{people["ann"]["id"]}" selected>' in asked.text and f"#{ids[0]} · now: rep<" in asked.text and "now: nobody" in asked.text
    assert [n["owner_id"] for n in site.records.list(SYSTEM, "notes", sort="id").items] == [people["rep"]["id"], None, people["rep"]["id"]]

    done = client.post("/r/notes/bulk-assign", data={"csrf_token": token, "ids": [str(ids[0]), str(ids[1])], "owner_id": str(people["ann"]["id"]), "confirm": "yes"})
    assert done.status_code == 303
    assert "Assigned 2 records to Ann." in client.get(done.headers["location"]).text
    assert [n["owner_id"] for n in site.records.list(SYSTEM, "notes", sort="id").items] == [people["ann"]["id"], people["ann"]["id"], people["rep"]["id"]]
    [change] = [e for e in site.records.history(SYSTEM, "notes", ids[0]) if e["action"] == "assign"]
    assert change["changes"] == {"owner_id": [people["rep"]["id"], people["ann"]["id"]], "body": {"owner_id": people["ann"]["id"], "reason": None}}
    assert change["channel"] == "ui"


def test_a_refused_record_or_owner_changes_nothing(app, site, people):
    ann, rep = people["ann"]["id"], people["rep"]["id"]
    in_team = notes(site, {"title": "team note", "owner_id": ann})[0]
    outside = notes(site, {"title": "outside note", "owner_id": rep})[0]
    boss, token = signed_in(app, "boss@example.com")
    assert '<select id="bulk-owner"' in boss.get("/r/notes").text  # a manager may assign
    refused = boss.post("/r/notes/bulk-assign", data={"csrf_token": token, "ids": [str(in_team), str(outside)], "owner_id": str(people["boss"]["id"]), "confirm": "yes"})
    assert refused.status_code == 422
    assert f"Nothing was changed: record #{outside} could not be assigned" in refused.text
    assert [n["owner_id"] for n in site.records.list(SYSTEM, "notes", sort="id").items] == [ann, rep]  # the team note too

    admin, admin_token = signed_in(app, "admin@example.com")
    inactive = admin.post("/r/notes/bulk-assign", data={"csrf_token": admin_token, "ids": [str(in_team)], "owner_id": str(people["gone"]["id"]), "confirm": "yes"})
    assert inactive.status_code == 422 and "Choose an active user" in inactive.text
    unknown = admin.post("/r/notes/bulk-assign", data={"csrf_token": admin_token, "ids": [str(in_team)], "owner_id": "99999", "confirm": "yes"})
    assert unknown.status_code == 422
    assert admin.post("/r/notes/bulk-assign", data={"ids": [str(in_team)], "owner_id": str(rep), "confirm": "yes"}).status_code == 403  # no CSRF token
    assert [n["owner_id"] for n in site.records.list(SYSTEM, "notes", sort="id").items] == [ann, rep]
    assert [e["action"] for e in site.records.history(SYSTEM, "notes", in_team)] == ["create"]


def test_users_who_may_not_update_or_assign_get_no_control(app, site, people):
    note = notes(site, {"title": "a", "owner_id": people["rep"]["id"]})[0]
    for email in ("exec@example.com", "rep@example.com"):  # executives may not update; reps may not give records away
        client, token = signed_in(app, email)
        page = client.get("/r/notes").text
        assert "a" in rows_of(page) and 'id="bulk-owner"' not in page and "/bulk-assign" not in page
        refused = client.post("/r/notes/bulk-assign", data={"csrf_token": token, "ids": [str(note)], "owner_id": str(people["ann"]["id"]), "confirm": "yes"})
        assert refused.status_code == 403
    assert site.records.get(SYSTEM, "notes", note)["owner_id"] == people["rep"]["id"]


def test_bulk_assign_goes_through_the_assign_path_with_its_reason_and_ownership_events(app, site, people):
    ids = notes(site, {"title": "m1", "owner_id": people["rep"]["id"]}, {"title": "m2"})
    client, token = signed_in(app, "admin@example.com")
    form = {"csrf_token": token, "ids": [str(i) for i in ids], "owner_id": str(people["ann"]["id"]), "reason": "rep on leave", "confirm": "yes"}
    done = client.post("/r/notes/bulk-assign", data=form)
    assert done.status_code == 303
    assert audit_actions(site, "notes").count("assign") == 2
    [entry] = [e for e in site.records.history(SYSTEM, "notes", ids[0]) if e["action"] == "assign"]
    assert entry["changes"]["body"] == {"owner_id": people["ann"]["id"], "reason": "rep on leave"}
    with site.engine.connect() as conn:
        events = [ownership.events_of(conn, "notes", i) for i in ids]
    assert [[(e["from_owner"], e["to_owner"], e["reason"]) for e in found] for found in events] == [
        [(people["rep"]["id"], people["ann"]["id"], "rep on leave")],
        [(None, people["ann"]["id"], "rep on leave")],
    ]


# -- export ------------------------------------------------------------------------------------


def download(client: TestClient, path: str, **data: Any) -> Any:
    response = client.post(path, data=data)
    assert response.status_code == 200, response.text
    return response


def test_export_csv_of_the_filtered_list_with_labels_and_an_audit_entry(app, site, people):
    notes(site, {"title": "Call ACME", "priority": 5, "custom": {"rating": "hot"}}, {"title": "Someday", "custom": {"rating": "cold"}},
          {"title": "华为拜访", "priority": 2, "custom": {"rating": "hot"}})
    client, token = signed_in(app, "admin@example.com")
    page = client.get("/r/notes?f.custom.rating=hot&sort=-priority").text
    assert 'formaction="/r/notes/export?sort=-priority&amp;f.custom.rating=hot"' in page
    response = download(client, "/r/notes/export?sort=-priority&f.custom.rating=hot", csrf_token=token, format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="notes-2026-01-05.csv"'
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ID", "Title", "Body"] and "Rating" in rows[0] and rows[0][-1] == "Updated at"
    assert [row[1] for row in rows[1:]] == ["Call ACME", "华为拜访"]
    assert rows[1][rows[0].index("Rating")] == "hot"
    with site.engine.connect() as conn:
        entry = conn.execute(sa.select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert (entry.actor, entry.entity, entry.record_id, entry.channel) == ("admin@example.com", "notes", None, "ui")
    assert entry.changes["count"] == 2 and entry.changes["format"] == "csv"

    client.cookies.set("crm_locale", "zh_CN")
    chinese = download(client, "/r/notes/export", csrf_token=token, format="csv")
    assert chinese.content.decode("utf-8-sig").splitlines()[0].startswith("编号,标题,")


def test_export_selected_records_as_xlsx(app, site, people):
    ids = notes(site, {"title": "one"}, {"title": "two"}, {"title": "three"})
    client, token = signed_in(app, "admin@example.com")
    response = download(client, "/r/notes/export?q=t", csrf_token=token, format="xlsx", ids=[str(ids[0]), str(ids[2])])
    assert response.headers["content-disposition"] == 'attachment; filename="notes-2026-01-05.xlsx"'
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("ID", "Title")
    assert [(row[0], row[1]) for row in rows[1:]] == [(ids[2], "three")]  # selected AND matching the search


def test_a_sales_rep_exports_only_their_own_records(app, site, people):
    notes(site, {"title": "mine", "owner_id": people["rep"]["id"]}, {"title": "ann's", "owner_id": people["ann"]["id"]})
    client, token = signed_in(app, "rep@example.com")
    assert 'formaction="/r/notes/export"' in client.get("/r/notes").text
    rows = list(csv.reader(io.StringIO(download(client, "/r/notes/export", csrf_token=token).content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["mine"]
    assert client.post("/r/notes/export", data={"format": "csv"}).status_code == 403  # no CSRF token


@pytest.mark.parametrize(("locale", "words"), [
    ("zh_CN", {"owner": "负责人", "touched": "最近处理时间", "yes": "是", "raw": "原始代码"}),
    ("en", {"owner": "Owner", "touched": "Touched at", "yes": "Yes", "raw": "Raw codes"}),
])
def test_a_rep_exports_names_and_their_local_time_or_raw_codes_when_ticked(app, site, people, locale, words):
    from datetime import datetime, timezone

    from kernel import preferences

    fielddefs.add_field(site, SYSTEM, "notes", "signed", {"type": "boolean"}, label={"en": "Signed", "zh_CN": "已签约"})
    preferences.put(site, people["rep"]["id"], "time_zone", "Europe/London")
    notes(site, {"title": "mine", "owner_id": people["rep"]["id"], "touched_at": datetime(2026, 7, 1, 9, 5, tzinfo=timezone.utc), "custom": {"signed": True}})
    site.records.update(SYSTEM, "users", people["rep"]["id"], {"name": "Rep Li"})
    client, token = signed_in(app, "rep@example.com")
    client.cookies.set("crm_locale", locale)
    page = client.get("/r/notes").text
    assert 'name="raw" value="1"' in page and words["raw"] in page
    rows = list(csv.reader(io.StringIO(download(client, "/r/notes/export", csrf_token=token, format="csv").content.decode("utf-8-sig"))))
    header, row = rows
    signed = "已签约" if locale == "zh_CN" else "Signed"
    assert row[header.index(words["owner"])] == "Rep Li" and row[header.index(signed)] == words["yes"]
    touched = [cell for cell in row if cell.startswith("2026-07-01")]
    assert touched == ["2026-07-01 10:05"]  # British summer time, the rep's zone
    raw = list(csv.reader(io.StringIO(download(client, "/r/notes/export", csrf_token=token, format="csv", raw="1").content.decode("utf-8-sig"))))
    values = dict(zip(*raw))
    assert values["owner_id"] == str(people["rep"]["id"]) and values["custom.signed"] == "true"
    assert values["touched_at"] == "2026-07-01T09:05:00Z"
