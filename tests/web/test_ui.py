"""The browser UI over HTTP: sign-in, generic record pages, admin pages, dashboard, safety."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kernel import Actor, ValidationError, preferences
from kernel.pluginstate import disable_plugin
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.ui_extras import plugin as ui_extras

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PASSWORD = "s3cret-pass"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, ui_extras, default_locale="en")


@pytest.fixture
def app(site):
    return create_app(site=site)


def add_user(site, email: str, role: str) -> dict:
    return site.records.create(Actor.system("cli"), "users", {"email": email, "name": email.split("@")[0], "password": PASSWORD, "role": role})


def form_token(client: TestClient, path: str) -> str:
    """The pre-session CSRF token a login or setup page hands out (also kept in the client's cookie)."""
    return CSRF.search(client.get(path).text).group(1)


def signed_in(app, email: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False)
    response = client.post("/login", data={"email": email, "password": password, "next": "/", "csrf_token": form_token(client, "/login")})
    assert response.status_code == 303, response.text
    token = CSRF.search(client.get("/").text)
    assert token
    return client, token.group(1)


@pytest.fixture
def admin(app, site):
    add_user(site, "admin@example.com", "admin")
    return signed_in(app, "admin@example.com")


@pytest.fixture
def rep(app, site):
    add_user(site, "rep@example.com", "sales_rep")
    return signed_in(app, "rep@example.com")


def errors_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="([^"]+)-error">([^<]*)</p>', html))


def add_rating_field(client: TestClient, token: str) -> None:
    response = client.post(
        "/admin/fields/notes",
        data={"csrf_token": token, "name": "rating", "label_en": "Rating", "label_zh_CN": "评级", "kind": "enum", "options": "hot, warm, cold"},
    )
    assert response.status_code == 303, response.text


# -- shell ------------------------------------------------------------------------------


def test_first_run_setup_creates_the_admin_then_disappears(app, site):
    client = TestClient(app, follow_redirects=False)
    assert client.get("/r/notes").headers["location"] == "/setup"
    assert client.get("/login").headers["location"] == "/setup"
    page = client.get("/setup")
    assert page.status_code == 200 and 'for="setup-email"' in page.text
    token = CSRF.search(page.text).group(1)
    forged = TestClient(app, follow_redirects=False).post(
        "/setup", data={"email": "evil@example.com", "password": "password-1", "password_again": "password-1", "csrf_token": token}
    )
    assert forged.status_code == 403  # another site's post: right token, but no cookie to match it
    assert site.records.list(Actor.system(), "users").total == 0
    differ = client.post("/setup", data={"email": "boss@example.com", "password": "password-1", "password_again": "password-2", "csrf_token": token})
    assert differ.status_code == 422 and "The two passwords differ." in differ.text
    done = client.post(
        "/setup", data={"email": "boss@example.com", "name": "Boss", "password": "password-1", "password_again": "password-1", "csrf_token": token}
    )
    assert done.status_code == 303
    assert client.get("/admin/plugins").status_code == 200  # signed in as the new admin
    users = site.records.list(Actor.system(), "users").items
    assert [(u["email"], u["role"]) for u in users] == [("boss@example.com", "admin")]
    assert TestClient(app, follow_redirects=False).get("/setup").headers["location"] == "/login"


def test_sign_in_and_out(app, site):
    add_user(site, "ann@example.com", "sales_rep")
    client = TestClient(app, follow_redirects=False)
    assert client.get("/r/notes").headers["location"] == "/login?next=/r/notes"
    assert client.post("/login", data={"email": "ann@example.com", "password": PASSWORD}).status_code == 403  # no form token
    token = form_token(client, "/login")
    wrong = client.post("/login", data={"email": "ann@example.com", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    right = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "next": "/r/notes", "csrf_token": token})
    assert right.status_code == 303 and right.headers["location"] == "/r/notes"
    page = client.get("/r/notes")
    assert page.status_code == 200
    assert client.post("/logout", data={}).status_code == 403  # no CSRF token
    assert client.post("/logout", data={"csrf_token": CSRF.search(page.text).group(1)}).status_code == 303
    assert client.get("/r/notes").status_code == 303


def test_login_refuses_a_redirect_to_another_site(app, site):
    add_user(site, "ann@example.com", "sales_rep")
    client = TestClient(app, follow_redirects=False)
    token = form_token(client, "/login")
    response = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "next": "//evil.example/x", "csrf_token": token})
    assert response.headers["location"] == "/"


def test_menu_lists_entities_and_hook_items_and_follows_plugin_state(app, site, admin, rep):
    client, _ = admin
    page = client.get("/").text
    assert 'href="/r/notes"' in page and 'href="/r/notes/kanban"' in page and "Notes board" in page
    assert "Secret admin page" in page  # admins hold every permission
    rep_page = rep[0].get("/").text
    assert "Notes board" in rep_page and "Secret admin page" not in rep_page and 'href="/r/users"' not in rep_page
    assert "Overridden by ui_extras" in client.get("/r/notes").text
    disable_plugin(site, Actor.system(), "ui_extras")
    page = client.get("/").text
    assert "Notes board" not in page and 'href="/r/notes"' in page
    assert "Overridden by ui_extras" not in client.get("/r/notes").text
    disable_plugin(site, Actor.system(), "notes")
    assert 'href="/r/notes"' not in client.get("/").text
    assert client.get("/r/notes").status_code == 404


def test_a_plugin_template_extends_the_kernel_original(admin):
    client, _ = admin
    page = client.get("/r/notes").text
    assert '<p class="notes-intro">Overridden by ui_extras</p>' in page
    assert "No Notes yet." in page  # the rest of kernel:list.html is still there


# -- records ----------------------------------------------------------------------------------


def test_the_edit_form_has_no_owner_field_and_ignores_one_sent(site, admin):
    client, token = admin
    owner = add_user(site, "ann@example.com", "sales_rep")
    other = add_user(site, "bob@example.com", "sales_rep")
    assert 'name="owner_id"' in client.get("/r/notes/new").text
    note = site.records.create(Actor.system(), "notes", {"title": "Mine", "owner_id": owner["id"]})
    assert 'name="owner_id"' not in client.get(f"/r/notes/{note['id']}/edit").text
    saved = client.post(f"/r/notes/{note['id']}/edit", data={"csrf_token": token, "title": "Still mine", "priority": "3", "owner_id": str(other["id"])})
    assert saved.status_code == 303
    assert site.records.get(Actor.system(), "notes", note["id"])["owner_id"] == owner["id"]


def test_create_filter_edit_and_history_with_a_custom_field(site, admin):
    client, token = admin
    add_rating_field(client, token)
    form = client.get("/r/notes/new").text
    assert 'name="custom.rating"' in form and '<label for="f-custom-rating">Rating' in form
    assert 'type="date" id="f-due"' in form and 'type="datetime-local" id="f-touched_at"' in form
    created = client.post("/r/notes/new", data={"csrf_token": token, "title": "Call back", "priority": "2", "custom.rating": "hot", "due": "2026-03-01"})
    assert created.status_code == 303
    note_id = int(created.headers["location"].split("/")[3].split("?")[0])
    client.post("/r/notes/new", data={"csrf_token": token, "title": "Someday", "custom.rating": "cold"})

    hot = client.get("/r/notes?f.custom.rating=hot").text
    assert "Call back" in hot and "Someday" not in hot
    searched = client.get("/r/notes?q=some").text
    assert "Someday" in searched and "Call back" not in searched
    ranged = client.get("/r/notes?f.priority__lte=2").text
    assert "Call back" in ranged and "Someday" not in ranged

    edit = client.get(f"/r/notes/{note_id}/edit").text
    assert 'value="Call back"' in edit and '<option value="hot" selected>' in edit
    saved = client.post(f"/r/notes/{note_id}/edit", data={"csrf_token": token, "title": "Call back today", "priority": "1", "custom.rating": "warm", "due": "2026-03-01"})
    assert saved.status_code == 303
    record = site.records.get(Actor.system(), "notes", note_id)
    assert record["title"] == "Call back today" and record["custom"] == {"rating": "warm"}

    history = client.get(f"/r/notes/{note_id}?tab=history").text
    assert history.count('class="timeline-head"') == 2
    assert "Call back today" in history and "warm" in history and "via ui" in history
    entries = site.records.history(Actor.system(), "notes", note_id)
    assert {e["channel"] for e in entries} == {"ui"}
    assert client.get(f"/r/notes/{note_id}/history").text.count('class="timeline-head"') == 2  # the htmx panel


def test_validation_errors_are_shown_next_to_their_fields(site, admin):
    client, token = admin
    add_rating_field(client, token)
    response = client.post("/r/notes/new", data={"csrf_token": token, "title": "", "priority": "9", "custom.rating": "lukewarm", "due": "2026-13-40"})
    assert response.status_code == 422
    errors = errors_of(response.text)
    assert set(errors) >= {"f-title", "f-priority", "f-due"}
    assert 'aria-invalid="true" aria-describedby="f-priority-error"' in response.text
    assert 'value="9"' in response.text  # what was typed is kept
    assert site.records.list(Actor.system(), "notes").total == 0
    vetoed = client.post("/r/notes/new", data={"csrf_token": token, "title": "forbidden"})
    assert vetoed.status_code == 422 and "may not be called" in errors_of(vetoed.text)["f-title"]


def test_custom_field_errors_name_the_custom_field(admin):
    client, token = admin
    add_rating_field(client, token)
    response = client.post("/r/notes/new", data={"csrf_token": token, "title": "ok", "custom.rating": "lukewarm"})
    assert response.status_code == 422 and "f-custom-rating" in errors_of(response.text)


def test_every_form_needs_the_csrf_token(site, admin):
    client, token = admin
    assert client.post("/r/notes/new", data={"title": "no token"}).status_code == 403
    forged = token[:-2] + ("00" if not token.endswith("00") else "11")
    assert client.post("/r/notes/new", data={"title": "bad token", "csrf_token": forged}).status_code == 403
    assert client.post("/r/notes/new", data={"title": "header"}, headers={"X-CSRF-Token": token}).status_code == 303
    assert [n["title"] for n in site.records.list(Actor.system(), "notes").items] == ["header"]
    page = client.get("/r/notes").text
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", page, re.S)
    assert forms and all('name="csrf_token"' in body for body in forms)


def test_script_in_a_name_and_a_custom_field_renders_inert(site, admin):
    client, token = admin
    client.post("/admin/fields/notes", data={"csrf_token": token, "name": "motto", "label_en": "<b>Motto</b>", "kind": "string"})
    payload = "<script>alert(1)</script>"
    created = client.post("/r/notes/new", data={"csrf_token": token, "title": payload, "custom.motto": payload})
    assert created.status_code == 303
    note_id = created.headers["location"].split("/")[3].split("?")[0]
    for path in ("/r/notes", f"/r/notes/{note_id}", f"/r/notes/{note_id}?tab=history", f"/r/notes/{note_id}/edit", "/"):
        html = client.get(path).text
        assert "<script>alert(1)" not in html, path
        assert "<b>Motto</b>" not in html, path
    assert client.get("/r/notes").text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # title and custom field
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/r/notes/{note_id}").text


def test_sorting_and_pagination(site, admin):
    client, _ = admin
    site.records.create_many(Actor.system(), "notes", [{"title": f"note {i:02d}", "priority": 1 + i % 5} for i in range(25)])
    first = client.get("/r/notes?sort=-title").text
    assert first.index("note 24") < first.index("note 23")
    assert 'aria-sort="descending"' in first and "Page 1 of 2" in first
    second = client.get("/r/notes?sort=-title&page=2").text
    assert "note 04" in second and "note 05" not in second
    assert "That filter cannot be used" in client.get("/r/notes?f.priority=high").text


def test_bulk_delete_asks_before_deleting(site, admin):
    client, token = admin
    ids = site.records.create_many(Actor.system(), "notes", [{"title": "a"}, {"title": "b"}, {"title": "c"}])
    asked = client.post("/r/notes/bulk-delete", data={"csrf_token": token, "ids": [str(ids[0]), str(ids[1])]})
    assert asked.status_code == 200 and "Delete 2 records?" in asked.text
    assert site.records.list(Actor.system(), "notes").total == 3
    done = client.post("/r/notes/bulk-delete", data={"csrf_token": token, "ids": [str(ids[0]), str(ids[1])], "confirm": "yes"})
    assert done.status_code == 303
    assert [n["title"] for n in site.records.list(Actor.system(), "notes").items] == ["c"]


def test_an_action_runs_after_its_form_with_errors_in_place(site, admin):
    client, token = admin
    note = site.records.create(Actor.system(), "notes", {"title": "finish"})
    assert 'href="/r/notes/%d/act/close"' % note["id"] in client.get(f"/r/notes/{note['id']}").text
    page = client.get(f"/r/notes/{note['id']}/act/close")
    assert page.status_code == 200 and 'id="f-reason"' in page.text
    refused = client.post(f"/r/notes/{note['id']}/act/close", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422 and "f-reason" in errors_of(refused.text)
    done = client.post(f"/r/notes/{note['id']}/act/close", data={"csrf_token": token, "reason": "shipped"})
    assert done.status_code == 303
    assert site.records.get(Actor.system(), "notes", note["id"])["status"] == "done"


def test_kanban_groups_by_status_and_moves_a_card(site, admin):
    client, token = admin
    note = site.records.create(Actor.system(), "notes", {"title": "card"})
    board = client.get("/r/notes/kanban").text
    assert board.count('class="lane"') == 3 and "card" in board
    client.post("/r/notes/kanban", data={"csrf_token": token, "id": str(note["id"]), "status": "archived"})
    assert site.records.get(Actor.system(), "notes", note["id"])["status"] == "archived"


def test_reference_picker_searches_the_target_entity(site, admin):
    client, _ = admin
    form = client.get("/r/notes/new").text
    assert 'hx-get="/r/users/lookup"' in form  # owner_id picks a user
    found = client.get("/r/users/lookup?q=admin&for=f-owner_id").text
    assert 'data-picker-pick="1"' in found and 'data-picker-for="f-owner_id"' in found


def test_a_sales_rep_sees_no_admin_pages(rep):
    client, _ = rep
    assert client.get("/admin/plugins").status_code == 403
    assert client.get("/admin/fields/notes").status_code == 403
    assert "/admin/plugins" not in client.get("/").text


# -- admin --------------------------------------------------------------------------------


def test_plugins_page_warns_about_dependencies(site, admin):
    client, token = admin
    page = client.get("/admin/plugins").text
    assert "Needed by ui_extras: disable those first." in page
    refused = client.post("/admin/plugins", data={"csrf_token": token, "name": "notes", "enable": "no"})
    assert refused.status_code == 409 and "is needed by ui_extras" in refused.text
    assert client.post("/admin/plugins", data={"csrf_token": token, "name": "ui_extras", "enable": "no"}).status_code == 303
    assert "ui_extras" not in site.view.enabled
    assert client.post("/admin/plugins", data={"csrf_token": token, "name": "ui_extras", "enable": "yes"}).status_code == 303
    assert "ui_extras" in site.view.enabled


def test_custom_field_admin_adds_indexes_and_removes(site, admin):
    client, token = admin
    bad = client.post("/admin/fields/notes", data={"csrf_token": token, "name": "Bad Name", "kind": "string"})
    assert bad.status_code == 422 and "cf-name" in errors_of(bad.text)
    client.post("/admin/fields/notes", data={"csrf_token": token, "name": "budget", "label_en": "Budget", "kind": "money", "indexed": "1"})
    assert site.view.fields("notes")["budget"].indexed
    client.post("/admin/fields/notes/budget", data={"csrf_token": token, "op": "unindex"})
    assert not site.view.fields("notes")["budget"].indexed
    client.post("/admin/fields/notes/budget", data={"csrf_token": token, "op": "remove"})
    assert "budget" not in site.view.fields("notes")


def test_users_are_added_through_the_generic_form(site, admin):
    client, token = admin
    form = client.get("/r/users/new").text
    assert '<option value="sales_rep"' in form and 'type="password"' in form
    created = client.post("/r/users/new", data={"csrf_token": token, "email": "New@Example.com", "name": "New", "role": "sales_rep", "password": "long-enough-1", "active.present": "1", "active": "1"})
    assert created.status_code == 303
    assert "new@example.com" in client.get("/r/users").text


# -- dashboard, language, formats ---------------------------------------------------------------


def test_dashboard_empty_state_then_widgets(site, admin, rep):
    client, _ = admin
    empty = client.get("/").text
    assert "There is no data yet." in empty
    site.records.create_many(Actor.system(), "notes", [{"title": "x", "priority": 2}, {"title": "y", "priority": 2, "status": "done"}])
    page = client.get("/").text
    assert "Open notes" in page and '<p class="big-number">1' in page
    assert "data-chart-options" in page and '"data": [0, 2, 0, 0, 0]' in page
    assert "Latest notes" in page  # an admin-role widget
    rep_page = rep[0].get("/").text
    assert "Open notes" in rep_page and "Latest notes" not in rep_page


def test_language_switch_and_localized_dates_and_money(site, admin):
    client, token = admin
    client.post("/admin/fields/notes", data={"csrf_token": token, "name": "budget", "label_en": "Budget", "label_zh_CN": "预算", "kind": "money"})
    note = site.records.create(Actor.system(), "notes", {"title": "t", "due": "2026-03-01", "custom": {"budget": 1234.5}})
    english = client.get(f"/r/notes/{note['id']}").text
    assert "Mar 1, 2026" in english and "CN¥1,234.50" in english and "Budget" in english and 'lang="en"' in english
    switched = client.post("/lang", data={"csrf_token": token, "to": "zh_CN", "next": f"/r/notes/{note['id']}"})
    assert switched.status_code == 303 and switched.headers["location"] == f"/r/notes/{note['id']}"
    chinese = client.get(f"/r/notes/{note['id']}").text
    assert "2026年3月1日" in chinese and "¥1,234.50" in chinese and "预算" in chinese and 'lang="zh-CN"' in chinese
    assert "仪表盘" in chinese and "截止日期" in chinese  # kernel catalog and the plugin's own catalog
    assert client.post("/lang", data={"csrf_token": token, "to": "xx", "next": "https://evil.example"}).headers["location"] == "/"
    assert client.post("/lang", data={"to": "en", "next": "/"}).status_code == 403  # no CSRF token


def test_language_choice_follows_the_user_to_another_browser(site, admin):
    client, token = admin
    assert 'lang="en"' in client.get("/").text
    client.post("/lang", data={"csrf_token": token, "to": "zh_CN", "next": "/"})
    elsewhere, _ = signed_in(create_app(site=site), "admin@example.com")
    assert 'lang="zh-CN"' in elsewhere.get("/").text and "仪表盘" in elsewhere.get("/").text
    admin_id = site.records.list(Actor.system(), "users", filters={"email": "admin@example.com"}).items[0]["id"]
    assert preferences.get(site, admin_id, "locale") == "zh_CN"
    with pytest.raises(ValidationError):
        preferences.put(site, admin_id, "locale", "fr")
    with pytest.raises(ValidationError):
        preferences.put(site, admin_id, "colour", "blue")


def test_language_before_sign_in_is_a_cookie(site):
    client = TestClient(create_app(site=site))
    answer = client.get("/lang?to=zh_CN&next=/login", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert 'lang="zh-CN"' in client.get("/login").text
    client.get("/lang?to=en&next=/login")
    assert 'lang="en"' in client.get("/login").text


def test_default_language_comes_from_settings(make_site):
    site = make_site(notes_plugin)  # default_locale: zh_CN
    site.records.create(Actor.system("cli"), "users", {"email": "a@example.com", "password": PASSWORD, "role": "admin"})
    client, _ = signed_in(create_app(site=site), "a@example.com")
    page = client.get("/r/notes").text
    assert "还没有笔记。" in page and "新建笔记" in page


# -- assets ----------------------------------------------------------------------------------


UI_ROOT = Path(__file__).resolve().parents[2] / "kernel" / "web"
REMOTE = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import\s+["']?(?:https?:)?//""", re.I)


def remote_assets(paths: list[Path]) -> list[str]:
    return [f"{p.name}: {m.group(0)}" for p in paths for m in REMOTE.finditer(p.read_text(encoding="utf-8"))]


def test_no_template_or_stylesheet_loads_anything_from_the_internet():
    files = [*(UI_ROOT / "templates").rglob("*.html"), *(UI_ROOT / "static" / "ui").rglob("*.css")]
    assert len(files) > 10
    assert remote_assets(files) == []


def test_the_remote_asset_check_catches_one(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<script src="https://cdn.example.com/htmx.js"></script>', encoding="utf-8")
    assert remote_assets([page])


def test_vendored_scripts_are_served_from_the_package(admin):
    client, _ = admin
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/vendor/echarts-6.1.0.min.js", "/static/ui/app.js", "/static/ui/app.css"):
        assert client.get(path).status_code == 200, path
    page = client.get("/").text
    assert '<script src="/static/vendor/htmx-2.0.11.min.js"' in page and "/static/vendor/echarts-6.1.0.min.js" in page


def test_every_page_names_its_icon_so_no_browser_asks_for_a_missing_favicon(admin, app):
    """Browsers ask ``/favicon.ico`` (a 404 in the console) unless the page links an icon: each page
    shell links the package's SVG, which is served to anyone (the sign-in page has it too)."""
    from starlette.testclient import TestClient

    client, _ = admin
    icon = '<link rel="icon" href="/static/ui/favicon.svg" type="image/svg+xml">'
    assert icon in client.get("/").text and icon in client.get("/api/docs").text
    with TestClient(app) as anonymous:
        assert icon in anonymous.get("/login").text
        served = anonymous.get("/static/ui/favicon.svg")
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/svg+xml") and served.text.startswith("<svg")


def test_demo_seeding_lets_each_plugin_add_its_records(site, app):
    from kernel.demo import seed_demo

    seed = seed_demo(site)
    seed_demo(site)  # twice changes nothing
    titles = sorted(n["title"] for n in site.records.list(Actor.system(), "notes").items)
    assert titles == ["Prepare the quarterly review", "回访华东客户"]
    client, _ = signed_in(app, seed.admin_email, seed.admin_password)
    assert "回访华东客户" in client.get("/r/notes").text



def test_a_date_range_filters_a_date_time_field_by_whole_days(site, admin):
    client, token = admin
    client.post("/admin/fields/notes", data={"csrf_token": token, "name": "met_at", "label_en": "Met at", "kind": "date-time"})
    site.records.create_many(Actor.system(), "notes", [
        {"title": "early", "custom": {"met_at": "2026-02-01T00:30:00Z"}},
        {"title": "late", "custom": {"met_at": "2026-02-01T23:30:00Z"}},
        {"title": "next day", "custom": {"met_at": "2026-02-02T08:00:00Z"}},
    ])
    client.cookies.set("crm_tz", "UTC")  # whole days in the browser's zone (without it: the site's, Asia/Shanghai)
    page = client.get("/r/notes?f.custom.met_at__gte=2026-02-01&f.custom.met_at__lte=2026-02-01").text
    assert "early" in page and "late" in page and "next day" not in page
    edit = client.get("/r/notes/1/edit").text
    assert 'type="datetime-local" id="f-custom-met_at" name="custom.met_at"' in edit and 'value="2026-02-01T00:30"' in edit


def test_global_search_finds_records_of_every_readable_entity(site, admin):
    client, _ = admin
    site.records.create_many(Actor.system(), "notes", [{"title": "ACME kickoff"}, {"title": "Other"}])
    page = client.get("/search?q=acme").text
    assert 'href="/r/notes/1"' in page and "ACME kickoff" in page and "Other" not in page
    assert "Nothing found" in client.get("/search?q=zzz").text


def test_inbox_lists_and_marks_notifications_read(site, admin):
    from kernel.notifications import notify

    client, token = admin
    with site.engine.begin() as conn:
        notify(site, conn, 1, "<i>Call</i> ACME", "today", link="/r/notes")
        notify(site, conn, 1, "Second")
    page = client.get("/inbox").text
    assert "&lt;i&gt;Call&lt;/i&gt; ACME" in page and '<span class="badge" aria-hidden="true">2</span>' in page
    opened = client.post("/inbox", data={"csrf_token": token, "id": "1", "link": "/r/notes"})
    assert opened.headers["location"] == "/r/notes"
    client.post("/inbox", data={"csrf_token": token})
    assert 'class="badge"' not in client.get("/inbox").text


def test_plugin_pages_render_in_the_layout_and_follow_plugin_state(app, site, admin):
    client, token = admin
    page = client.get("/p/ui_extras/hello")
    assert page.status_code == 200 and "Hello, admin@example.com" in page.text and 'class="sidebar"' in page.text
    assert client.post("/p/ui_extras/hello", data={"title": "no token"}).status_code == 403
    assert client.post("/p/ui_extras/hello", data={"title": "from a page", "csrf_token": token}).status_code == 303
    assert site.records.list(Actor.system(), "notes").items[0]["title"] == "from a page"
    anonymous = TestClient(app, follow_redirects=False).get("/p/ui_extras/hello")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/p/ui_extras/hello"
    disable_plugin(site, Actor.system(), "ui_extras")
    assert client.get("/p/ui_extras/hello").status_code == 404


class _Inputs(HTMLParser):
    """Collects form controls and the ids that labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.labelled: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "label":
            self.in_label += 1
            if attributes.get("for"):
                self.labelled.add(attributes["for"])
        elif tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit"):
            self.controls.append({**attributes, "wrapped": "yes" if self.in_label else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


def test_every_input_has_a_label(site, admin):
    client, token = admin
    add_rating_field(client, token)
    note = site.records.create(Actor.system(), "notes", {"title": "t"})
    for path in ("/", "/r/notes", "/r/notes/new", f"/r/notes/{note['id']}/edit", f"/r/notes/{note['id']}/act/close",
                 "/admin/fields/notes", "/admin/plugins", "/r/users/new", "/r/notes/kanban", "/search", "/inbox"):
        parser = _Inputs()
        parser.feed(client.get(path).text)
        unlabelled = [c for c in parser.controls if not (c["wrapped"] or c.get("aria-label") or c.get("id") in parser.labelled)]
        assert unlabelled == [], path


def test_roles_edit_their_label_object_and_permission_list(site, admin):
    client, token = admin
    created = client.post("/r/roles/new", data={
        "csrf_token": token, "name": "auditor", "label": '{"en": "Auditor", "zh_CN": "审计员"}', "permissions": "notes.read",
    })
    assert created.status_code == 303, created.text
    role = site.records.list(Actor.system(), "roles", filters={"name": "auditor"}).items[0]
    assert role["label"] == {"en": "Auditor", "zh_CN": "审计员"} and role["permissions"] == ["notes.read"]
    edit = client.get(f"/r/roles/{role['id']}/edit").text
    assert "{&#34;en&#34;: &#34;Auditor&#34;, &#34;zh_CN&#34;: &#34;审计员&#34;}" in edit and 'value="notes.read"' in edit
    wrong = client.post(f"/r/roles/{role['id']}/edit", data={"csrf_token": token, "name": "auditor", "label": "not json", "permissions": "notes.read"})
    assert wrong.status_code == 422 and "f-label" in errors_of(wrong.text)


def test_an_edit_over_someone_else_s_newer_change_is_refused_then_saved_on_purpose(site, admin):
    client, token = admin
    note = site.records.create(Actor.system(), "notes", {"title": "Draft"})
    form = client.get(f"/r/notes/{note['id']}/edit").text
    version = re.search(r'name="_version" value="([^"]+)"', form).group(1)
    site.records.update(Actor.system(), "notes", note["id"], {"title": "Colleague's title"})  # saved meanwhile
    refused = client.post(f"/r/notes/{note['id']}/edit", data={"csrf_token": token, "_version": version.replace("&#34;", '"'), "title": "My title", "priority": "3"})
    assert refused.status_code == 409 and 'id="edit-conflict"' in refused.text
    assert 'value="My title"' in refused.text  # what was typed is kept
    assert site.records.get(Actor.system(), "notes", note["id"])["title"] == "Colleague's title"
    current = re.search(r'name="_version" value="([^"]+)"', refused.text).group(1)
    assert current != version
    saved = client.post(f"/r/notes/{note['id']}/edit", data={"csrf_token": token, "_version": current.replace("&#34;", '"'), "title": "My title", "priority": "3"})
    assert saved.status_code == 303
    assert site.records.get(Actor.system(), "notes", note["id"])["title"] == "My title"


def test_an_address_no_page_answers_is_the_404_page_for_a_browser(app, rep):
    client, token = rep
    page = client.get("/customerz", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and 'class="empty-mark"' in page.text and "Back to the dashboard" in page.text
    assert 'class="sidebar"' in page.text  # signed in: the page keeps the menu
    client.post("/lang", data={"to": "zh_CN", "next": "/", "csrf_token": token})
    assert "页面不存在" in client.get("/customerz", headers={"Accept": "text/html"}).text
    anonymous = TestClient(app).get("/customerz", headers={"Accept": "text/html"})
    assert anonymous.status_code == 404 and 'class="empty-mark"' in anonymous.text
    assert TestClient(app).get("/customerz").text == "Not Found"  # not a browser: plain text, as before
    assert TestClient(app).get("/api/v1/customerz").json()["error"]["code"] in ("not_found", "unauthorized")
