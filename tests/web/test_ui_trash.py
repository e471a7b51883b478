"""The recycle bin page: empty state, the list (own deletions; an admin's: all), restore with confirmation, both languages."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, default_locale="en")


def test_the_bin_page_lists_asks_and_restores(site):
    app = create_app(site=site)
    manager = add_user(site, "boss@example.com", "sales_manager")
    add_user(site, "other@example.com", "sales_manager")
    client, token = signed_in(app, "boss@example.com")
    empty = client.get("/trash")
    assert empty.status_code == 200 and "The recycle bin is empty." in empty.text
    assert 'href="/trash"' in empty.text  # the user menu leads here

    note = site.records.create(SYSTEM, "notes", {"title": "Quarterly plan", "owner_id": manager["id"]})
    asked = client.post(f"/r/notes/{note['id']}/delete", data={"csrf_token": token})
    assert "restore them" in asked.text and "30 days" in asked.text
    assert client.post(f"/r/notes/{note['id']}/delete", data={"csrf_token": token, "confirm": "yes"}).status_code == 303
    listed = client.get("/trash?entity=notes")
    assert "Quarterly plan" in listed.text and f'href="/trash/notes/{note["id"]}/restore"' in listed.text

    other, _ = signed_in(app, "other@example.com")
    assert "Quarterly plan" not in other.get("/trash").text
    assert other.get(f"/trash/notes/{note['id']}/restore").status_code == 404

    confirm = client.get(f"/trash/notes/{note['id']}/restore")
    assert confirm.status_code == 200 and "Restore Quarterly plan?" in confirm.text
    assert site.records.list(SYSTEM, "notes").total == 0  # asking restores nothing
    done = client.post(f"/trash/notes/{note['id']}/restore", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/r/notes/{note['id']}?restored=1"
    assert site.records.get(SYSTEM, "notes", note["id"])["title"] == "Quarterly plan"
    assert "The recycle bin is empty." in client.get("/trash").text
    site.records.update(SYSTEM.elevated("notes.tidy"), "notes", note["id"], {"title": "Quarterly plan 2"})
    history = client.get(f"/r/notes/{note['id']}/history").text
    assert "Restored" in history and "system action: notes.tidy" in history


def test_the_bin_page_speaks_chinese(site):
    app = create_app(site=site)
    add_user(site, "admin@example.com", "admin")
    client, token = signed_in(app, "admin@example.com")
    client.post("/lang", data={"to": "zh_CN", "next": "/trash", "csrf_token": token})
    page = client.get("/trash").text
    assert "回收站是空的。" in page and "所有人删除的记录" in page
    note = site.records.create(SYSTEM, "notes", {"title": "计划"})
    site.records.delete(SYSTEM, "notes", note["id"])
    listed = client.get("/trash").text
    assert "计划" in listed and "恢复" in listed and "永久清除时间" in listed
