"""The detail page: related records, the Activity tab, pre-filled create forms, duplicate warnings; the board's JSON moves."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor, Vetoed
from kernel.fielddefs import add_field
from kernel.web.app import create_app
from plugins.customers import plugin as customers_plugin
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note
from tests.helpers import plugin_module
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")
JSON_ACCEPT = {"Accept": "application/json"}


def record_activity(site: Any, entity: str, record_id: int, limit: int) -> list[dict[str, Any]] | None:
    """Each note's timeline also lists the notes whose ``custom.parent`` is that note."""
    if entity != "notes":
        return None
    children = site.records.list(SYSTEM, "notes", filters={"parent": record_id}, sort="-id", limit=limit).items
    return [{"at": c["created_at"], "kind": "child", "title": c["title"], "entity": "notes", "record_id": c["id"]} for c in children]


def before_update(entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "notes" and record["title"] == "locked" and "status" in changes:
        raise Vetoed.at(["status"], "locked notes stay where they are")


@pytest.fixture
def site(make_site):
    timeline = plugin_module("timeline_test", requires=("notes",), record_activity=record_activity, before_update=before_update)
    site = make_site(notes_plugin, timeline, default_locale="en")
    add_field(site, SYSTEM, "notes", "parent", {"type": "integer", "format": "reference", "x-entity": "notes"}, label={"en": "Parent note"})
    add_field(site, SYSTEM, "users", "favorite_note", {"type": "integer", "format": "reference", "x-entity": "notes"}, label={"en": "Favorite note"})
    site.records.create(SYSTEM, "roles", {"name": "note_keeper", "permissions": ["notes.read", "notes.create", "notes.update"]})
    return site


@pytest.fixture
def app(site):
    return create_app(site=site)


@pytest.fixture
def admin(app, site):
    user = add_user(site, "admin@example.com", "admin")
    client, token = signed_in(app, "admin@example.com")
    return client, token, user


@pytest.fixture
def keeper(app, site):
    """A user who may read and write notes, but not read users."""
    user = add_user(site, "keeper@example.com", "note_keeper")
    client, token = signed_in(app, "keeper@example.com")
    return client, token, user


def card(html: str, heading: str) -> str:
    """The related-records card whose heading starts with ``heading``."""
    for section in re.findall(r'<section class="card related-card".*?</section>', html, re.S):
        if re.search(r"<h3[^>]*>" + re.escape(heading) + r" <span", section):
            return section
    raise AssertionError(f"no related card {heading!r}")


def has_card(html: str, heading: str) -> bool:
    try:
        card(html, heading)
    except AssertionError:
        return False
    return True


# -- related records ---------------------------------------------------------------------------


def test_a_user_page_lists_the_notes_they_own(site, admin):
    client, _, user = admin
    ids = site.records.create_many(SYSTEM, "notes", [{"title": f"owned {i}", "owner_id": user["id"], "priority": 1 + i} for i in range(4)])
    site.records.create(SYSTEM, "notes", {"title": "nobody's"})
    notes = card(client.get(f"/r/users/{user['id']}").text, "Notes")
    assert '<span class="count">4</span>' in notes
    assert all(f'href="/r/notes/{i}"' in notes for i in ids) and "nobody" not in notes
    assert f'href="/r/notes?f.owner_id={user["id"]}"' in notes
    assert f'href="/r/notes/new?owner_id={user["id"]}&amp;_back=%2Fr%2Fusers%2F{user["id"]}"' in notes
    listed = client.get(f"/r/notes?f.owner_id={user['id']}").text
    assert "owned 3" in listed and "nobody&#39;s" not in listed and "nobody's" not in listed


def test_cards_show_five_records_and_a_self_reference_gets_its_own_card(site, admin):
    client, _, _ = admin
    parent = site.records.create(SYSTEM, "notes", {"title": "Parent"})
    children = site.records.create_many(SYSTEM, "notes", [{"title": f"child {i}", "custom": {"parent": parent["id"]}} for i in range(7)])
    page = client.get(f"/r/notes/{parent['id']}").text
    kids = card(page, "Notes · Parent note")
    assert '<span class="count">7</span>' in kids
    assert kids.count('<li><a href="/r/notes/') == 5
    assert f'href="/r/notes/{children[-1]}"' in kids and f'href="/r/notes/{children[0]}"' not in kids  # the newest five
    assert f'href="/r/notes?f.custom.parent={parent["id"]}"' in kids
    assert f'href="/r/notes/new?custom.parent={parent["id"]}&amp;_back=%2Fr%2Fnotes%2F{parent["id"]}"' in kids
    see_all = client.get(f"/r/notes?f.custom.parent={parent['id']}").text
    assert all(f"child {i}" in see_all for i in range(7))
    lonely = client.get(f"/r/notes/{children[0]}").text
    empty = card(lonely, "Notes · Parent note")  # no children, but the admin may create one
    assert '<span class="count">0</span>' in empty and "Add the first one" in empty and "See all" not in empty


def test_cards_of_entities_the_user_may_not_read_are_left_out(site, admin, keeper):
    admin_client, _, _ = admin
    keeper_client, _, keeper_user = keeper
    note = site.records.create(SYSTEM, "notes", {"title": "shared"})
    site.records.update(SYSTEM, "users", keeper_user["id"], {"custom": {"favorite_note": note["id"]}})
    users = card(admin_client.get(f"/r/notes/{note['id']}").text, "Users")
    assert '<span class="count">1</span>' in users and f'href="/r/users/{keeper_user["id"]}"' in users
    page = keeper_client.get(f"/r/notes/{note['id']}")
    assert page.status_code == 200
    assert not has_card(page.text, "Users") and f'href="/r/users/{keeper_user["id"]}"' not in page.text
    assert has_card(page.text, "Notes · Parent note")  # the keeper may create notes


def test_an_empty_card_is_hidden_from_a_user_who_cannot_create_there(site, app):
    reader = site.records.create(SYSTEM, "roles", {"name": "note_reader", "permissions": ["notes.read"]})
    assert reader["name"] == "note_reader"
    add_user(site, "reader@example.com", "note_reader")
    client, _ = signed_in(app, "reader@example.com")
    parent = site.records.create(SYSTEM, "notes", {"title": "Parent"})
    lonely = client.get(f"/r/notes/{parent['id']}").text
    assert not has_card(lonely, "Notes · Parent note")
    site.records.create(SYSTEM, "notes", {"title": "kid", "custom": {"parent": parent["id"]}})
    kids = card(client.get(f"/r/notes/{parent['id']}").text, "Notes · Parent note")
    assert '<span class="count">1</span>' in kids and "/r/notes/new?" not in kids


# -- pre-filled create form --------------------------------------------------------------------------


def test_the_new_form_is_prefilled_from_the_address(site, admin):
    client, _, user = admin
    parent = site.records.create(SYSTEM, "notes", {"title": "The parent"})
    form = client.get(f"/r/notes/new?title=Follow+up&priority=2&owner_id={user['id']}&custom.parent={parent['id']}&bogus=1&csrf_token=x").text
    assert 'id="f-title" name="title" required' in form and 'value="Follow up"' in form
    assert re.search(r'<input type="number" id="f-priority" name="priority"[^>]*\s+value="2"', form)
    assert f'<input type="hidden" name="owner_id" value="{user["id"]}" data-picker-value>' in form
    assert 'value="admin"' in form  # the owner's name in the picker, not a number
    assert f'<input type="hidden" name="custom.parent" value="{parent["id"]}" data-picker-value>' in form
    assert 'value="The parent"' in form
    assert 'name="bogus"' not in form
    assert site.records.list(SYSTEM, "notes").total == 1  # nothing saved before the form is sent
    edit = client.get(f"/r/notes/{parent['id']}/edit?title=Changed").text
    assert 'value="The parent"' in edit and 'value="Changed"' not in edit  # only a new record's form takes values from the address


# -- activity tab ------------------------------------------------------------------------------------


def test_the_activity_tab_shows_changes_in_short_and_plugin_entries(site, admin, clock):
    client, _, _ = admin
    note = site.records.create(SYSTEM, "notes", {"title": "Plan", "priority": 3})
    clock.advance(minutes=5)
    child = site.records.create(SYSTEM, "notes", {"title": "Kid note", "custom": {"parent": note["id"]}})
    clock.advance(minutes=5)
    site.records.update(SYSTEM, "notes", note["id"], {"priority": 1, "status": "done", "body": "text", "due": "2026-02-01"})
    page = client.get(f"/r/notes/{note['id']}?tab=activity").text
    assert 'id="tab-activity" href="?tab=activity" aria-selected="true"' in page
    entries = re.findall(r'<li class="activity-entry">(.*?)</li>\s*(?=<li class="activity-entry">|</ol>)', page, re.S)
    assert len(entries) == 3
    changed, kid, created = entries
    assert ">Change</span>" in changed and "<strong>Changed</strong>" in changed and "by cli via cli" in changed
    assert '<span class="muted">Priority:</span> <span class="old">3</span>' in changed and '<span class="new">1</span>' in changed
    assert "and 1 more change" in changed  # four fields changed, three shown
    assert ">child</span>" in kid and f'<a href="/r/notes/{child["id"]}"><strong>Kid note</strong></a>' in kid
    assert "<strong>Created</strong>" in created and f'href="/r/notes/{note["id"]}"' not in created
    assert "Load more" not in page and "No activity yet" not in page
    panel = client.get(f"/r/notes/{note['id']}/activity")
    assert panel.status_code == 200 and "<html" not in panel.text and panel.text.count('class="activity-entry"') == 3


def test_load_more_appends_the_next_page(site, admin, clock):
    client, _, _ = admin
    note = site.records.create(SYSTEM, "notes", {"title": "Busy"})
    for step in range(24):
        clock.advance(minutes=1)
        site.records.update(SYSTEM, "notes", note["id"], {"body": f"version {step}"})
    first = client.get(f"/r/notes/{note['id']}/activity").text
    assert first.count('class="activity-entry"') == 20
    assert '<span class="new">version 23</span>' in first and '<span class="new">version 4</span>' in first
    assert '<span class="new">version 3</span>' not in first
    more = re.search(r'hx-get="([^"]+)"\s+hx-target="closest li" hx-swap="outerHTML">Load more', first)
    assert more and more.group(1) == f"/r/notes/{note['id']}/activity?offset=20&amp;part=items"
    assert f'href="/r/notes/{note["id"]}?tab=activity&amp;offset=20"' in first  # without JavaScript: the next page
    rest = client.get(more.group(1).replace("&amp;", "&")).text
    assert "<section" not in rest and rest.count('class="activity-entry"') == 5
    assert '<span class="new">version 3</span>' in rest and '<span class="new">version 0</span>' in rest
    assert '<span class="new">version 4</span>' not in rest and "<strong>Created</strong>" in rest
    assert "Load more" not in rest
    second_page = client.get(f"/r/notes/{note['id']}?tab=activity&offset=20").text
    assert second_page.count('class="activity-entry"') == 5 and "Back to the newest" in second_page


def test_the_activity_tab_says_when_there_is_nothing(site, admin):
    client, _, _ = admin
    with site.write() as conn:  # a row that never went through the write path (an old import, say)
        note_id = conn.execute(
            sa.insert(Note.__table__).values(title="Quiet", body="", priority=3, status="open", custom={}, created_at=site.clock.now(), updated_at=site.clock.now())
            .returning(Note.__table__.c.id)
        ).scalar_one()
    page = client.get(f"/r/notes/{note_id}?tab=activity").text
    assert "No activity yet." in page and 'class="activity-entry"' not in page


def test_activity_follows_record_rules(site, app):
    owner = add_user(site, "ann@example.com", "sales_rep")
    add_user(site, "bob@example.com", "sales_rep")
    note = site.records.create(SYSTEM, "notes", {"title": "Ann's", "owner_id": owner["id"]})
    ann, _ = signed_in(app, "ann@example.com")
    bob, _ = signed_in(app, "bob@example.com")
    assert ann.get(f"/r/notes/{note['id']}/activity").status_code == 200
    assert bob.get(f"/r/notes/{note['id']}/activity").status_code == 404
    assert bob.get(f"/r/notes/{note['id']}?tab=activity").status_code == 404


# -- the board's answers to a script --------------------------------------------------------------------


def test_a_scripted_move_answers_json(site, admin):
    client, token, _ = admin
    note = site.records.create(SYSTEM, "notes", {"title": "card"})
    moved = client.post("/r/notes/kanban", data={"csrf_token": token, "id": str(note["id"]), "status": "done"}, headers=JSON_ACCEPT)
    assert moved.status_code == 200 and moved.headers["content-type"].startswith("application/json")
    assert moved.json() == {"id": note["id"], "field": "status", "value": "done", "message": "Moved card to done."}
    assert site.records.get(SYSTEM, "notes", note["id"])["status"] == "done"
    by_htmx = client.post("/r/notes/kanban", data={"id": str(note["id"]), "status": "archived"}, headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert by_htmx.status_code == 200 and by_htmx.json()["value"] == "archived"
    by_form = client.post("/r/notes/kanban", data={"csrf_token": token, "id": str(note["id"]), "status": "open"})
    assert by_form.status_code == 303 and by_form.headers["location"] == "/r/notes/kanban"  # the no-script form is unchanged
    assert site.records.get(SYSTEM, "notes", note["id"])["status"] == "open"


def test_a_refused_scripted_move_answers_the_reason(site, admin, app):
    client, token, _ = admin
    note = site.records.create(SYSTEM, "notes", {"title": "card"})
    locked = site.records.create(SYSTEM, "notes", {"title": "locked"})
    wrong = client.post("/r/notes/kanban", data={"csrf_token": token, "id": str(note["id"]), "status": "lost"}, headers=JSON_ACCEPT)
    assert wrong.status_code == 422
    body = wrong.json()
    assert body["error"]["code"] == "validation_error" and body["error"]["details"][0]["loc"] == ["body", "status"]
    assert body["message"] == "That card could not be moved. Status must be one of open, done, archived"
    vetoed = client.post("/r/notes/kanban", data={"csrf_token": token, "id": str(locked["id"]), "status": "done"}, headers=JSON_ACCEPT)
    assert vetoed.status_code == 422 and vetoed.json()["message"] == "That card could not be moved. locked notes stay where they are"
    assert site.records.get(SYSTEM, "notes", locked["id"])["status"] == "open"
    gone = client.post("/r/notes/kanban", data={"csrf_token": token, "id": "999", "status": "done"}, headers=JSON_ACCEPT)
    assert gone.status_code == 404 and gone.json()["message"] == "That card could not be moved. It no longer exists, or you may not see it."
    bad_id = client.post("/r/notes/kanban", data={"csrf_token": token, "id": "abc", "status": "done"}, headers=JSON_ACCEPT)
    assert bad_id.status_code == 422 and bad_id.json()["error"]["details"][0]["loc"] == ["body", "id"]
    no_token = client.post("/r/notes/kanban", data={"id": str(note["id"]), "status": "done"}, headers=JSON_ACCEPT)
    assert no_token.status_code == 403
    owner = add_user(site, "ann@example.com", "sales_rep")
    add_user(site, "bob@example.com", "sales_rep")
    mine = site.records.create(SYSTEM, "notes", {"title": "Ann's", "owner_id": owner["id"]})
    bob, bob_token = signed_in(app, "bob@example.com")
    hidden = bob.post("/r/notes/kanban", data={"csrf_token": bob_token, "id": str(mine["id"]), "status": "done"}, headers=JSON_ACCEPT)
    assert hidden.status_code == 404
    assert site.records.get(SYSTEM, "notes", note["id"])["status"] == "open"
    assert site.records.get(SYSTEM, "notes", mine["id"])["status"] == "open"
    redirected = client.post("/r/notes/kanban", data={"csrf_token": token, "id": str(note["id"]), "status": "lost"})
    assert redirected.status_code == 303 and redirected.headers["location"] == "/r/notes/kanban?error=422"


def test_the_board_carries_what_the_script_needs(site, admin):
    client, token, _ = admin
    note = site.records.create(SYSTEM, "notes", {"title": "card"})
    board = client.get("/r/notes/kanban").text
    assert '<script src="/static/ui/kanban.js" defer></script>' in board
    assert f'data-kanban data-url="/r/notes/kanban" data-field="status" data-csrf="{token}"' in board
    assert f'<article class="board-card" data-id="{note["id"]}" draggable="true">' in board
    assert '<section class="lane" aria-labelledby="lane-2" data-lane="done">' in board
    assert 'role="alert" data-board-error hidden' in board and 'aria-live="polite" data-board-status' in board
    assert client.get("/static/ui/kanban.js").status_code == 200


# -- duplicate warnings ------------------------------------------------------------------------------


@pytest.fixture
def crm(make_site):
    return make_site(customers_plugin, default_locale="en")


def new_customer(client: TestClient, token: str, **values: str) -> tuple[int, str]:
    created = client.post("/r/customers/new", data={"csrf_token": token, **values})
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    return int(location.split("/")[3].split("?")[0]), location


def test_a_look_alike_create_warns_with_the_records_the_user_may_see(crm):
    app = create_app(site=crm)
    rep = add_user(crm, "rep@example.com", "sales_rep")
    other = add_user(crm, "other@example.com", "sales_rep")
    visible = crm.records.create(SYSTEM, "customers", {"name": "Hangzhou Tea Co", "phone": "13800138000", "owner_id": rep["id"]})
    hidden = crm.records.create(SYSTEM, "customers", {"name": "Other Tea", "phone": "13800138000", "owner_id": other["id"]})
    client, token = signed_in(app, "rep@example.com")
    new_id, location = new_customer(client, token, name="Hangzhou Tea Co.", phone="138 0013 8000")
    assert location == f"/r/customers/{new_id}?saved=1&duplicates={visible['id']}&hidden=1"  # the other rep's: counted, not named
    page = client.get(location).text
    warning = re.search(r'<div class="alert alert-warn" role="alert">(.*?)</div>', page, re.S)
    assert warning and "This may be a duplicate of:" in warning.group(1)
    assert "1 similar record exists that you cannot see — ask your manager." in warning.group(1)
    assert f'<a href="/r/customers/{visible["id"]}">Hangzhou Tea Co #{visible["id"]}</a>' in warning.group(1)
    assert f"/r/customers/{hidden['id']}" not in page and "Other Tea" not in page
    assert "Compare and merge" not in page  # a sales rep may not merge
    snooping = client.get(f"/r/customers/{new_id}?duplicates={hidden['id']}").text
    assert "alert-warn" not in snooping and "Other Tea" not in snooping
    assert "alert-warn" not in client.get(f"/r/customers/{new_id}?duplicates=1;DROP").text
    unique_id, unique_location = new_customer(client, token, name="Suzhou Silk", phone="13900139000")
    assert unique_location == f"/r/customers/{unique_id}?saved=1"


def test_a_manager_gets_a_compare_and_merge_link(crm):
    app = create_app(site=crm)
    boss = add_user(crm, "boss@example.com", "sales_manager")
    first = crm.records.create(SYSTEM, "customers", {"name": "Ningbo Ports Ltd", "email": "info@ningbo.example", "owner_id": boss["id"]})
    client, token = signed_in(app, "boss@example.com")
    new_id, location = new_customer(client, token, name="Ningbo Ports", email="INFO@ningbo.example")
    page = client.get(location).text
    assert f'<a href="/r/customers/{new_id}/act/merge?other_id={first["id"]}">Compare and merge</a>' in page
