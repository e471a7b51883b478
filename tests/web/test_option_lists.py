"""Option lists over HTTP: the REST API (admins write, everyone signed in reads), the admin page, and
what a field using a list looks like in forms, lists (a multiple select filter) and detail pages."""

from __future__ import annotations

import re

import pytest

from kernel import Actor, Option, OptionList, fielddefs, hookimpl
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.conftest import http_client, make_user
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ADMIN = Actor.system("cli")


class Sizes:
    NAME = "sizes"
    REQUIRES = ("notes",)

    @staticmethod
    @hookimpl
    def register_option_lists() -> list[OptionList]:
        return [OptionList("sizes.size", {"en": "Size", "zh_CN": "规模"}, (
            Option("small", {"en": "Small", "zh_CN": "小"}, colour="#00aa00"),
            Option("medium", {"en": "Medium", "zh_CN": "中"}),
            Option("large", {"en": "Large", "zh_CN": "大"}),
        ))]


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, Sizes, default_locale="en")
    fielddefs.add_field(site, ADMIN, "notes", "size", {"type": "string", "x-options": "sizes.size"}, label={"en": "Size", "zh_CN": "规模"})
    return site


@pytest.fixture
def app(site):
    return create_app(site=site)


async def test_admins_change_lists_over_the_api_and_everyone_reads_them(site, app, anyio_backend):
    admin, rep = make_user(site, "a@example.com", "admin"), make_user(site, "r@example.com", "sales_rep")
    async with http_client(app, admin["token"]) as client, http_client(app, rep["token"]) as reader:
        listed = (await reader.get("/api/v1/meta/option-lists/sizes.size")).json()
        assert [o["code"] for o in listed["options"]] == ["small", "medium", "large"] and listed["fields"] == ["notes.custom.size"]
        assert (await reader.post("/api/v1/meta/option-lists/sizes.size/options", json={"code": "huge", "label": "Huge"})).status_code == 403
        added = await client.post("/api/v1/meta/option-lists/sizes.size/options", json={"code": "huge", "label": {"en": "Huge", "zh_CN": "特大"}, "colour": "#ff0000"})
        assert added.status_code == 201 and added.json()["options"][-1]["code"] == "huge"
        bad = await client.post("/api/v1/meta/option-lists/sizes.size/options", json={"code": "bad code", "label": "x"})
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["code"]
        unknown = await client.patch("/api/v1/meta/option-lists/sizes.size/options/small", json={"colour": "#00aa00", "shade": 1})
        assert unknown.status_code == 422
        ordered = await client.put("/api/v1/meta/option-lists/sizes.size/order", json={"codes": ["large", "huge"]})
        assert [o["code"] for o in ordered.json()["options"]] == ["large", "huge", "small", "medium"]
        archived = await client.patch("/api/v1/meta/option-lists/sizes.size/options/medium", json={"archived": True})
        assert archived.status_code == 200
        refused = await reader.post("/api/v1/notes", json={"title": "n", "custom": {"size": "medium"}})
        assert refused.status_code == 422 and refused.json()["error"]["details"][0]["loc"] == ["custom", "size"]
        note = (await reader.post("/api/v1/notes", json={"title": "n", "custom": {"size": "Large"}})).json()
        assert note["custom"]["size"] == "large"
        merged = await client.post("/api/v1/meta/option-lists/sizes.size/merge", json={"from": "large", "into": "huge"})
        assert merged.status_code == 200 and merged.json()["records"] == {"notes.size": 1}
        assert (await reader.get(f"/api/v1/notes/{note['id']}")).json()["custom"]["size"] == "huge"
        made = await client.post("/api/v1/meta/option-lists", json={"name": "colours", "label": {"en": "Colour", "zh_CN": "颜色"}})
        assert made.status_code == 201 and (await client.post("/api/v1/meta/option-lists", json={"name": "colours", "label": "x"})).status_code == 409
        names = [item["name"] for item in (await reader.get("/api/v1/meta/option-lists")).json()["items"]]
        assert names == ["colours", "sizes.size"]
        filtered = (await reader.get("/api/v1/notes", params={"size__in": "huge,small"})).json()
        assert filtered["total"] == 1
        spec = (await reader.get("/api/v1/openapi.json")).json()
        assert "/api/v1/meta/option-lists/{name}/merge" in spec["paths"]
    with site.engine.connect() as conn:
        actions = [row[0] for row in conn.exec_driver_sql("SELECT action FROM kernel_audit WHERE entity = 'option_lists' ORDER BY id")]
    assert actions == ["add_option", "change_options", "change_options", "merge", "create"]


def test_the_admin_page_edits_reorders_archives_and_merges(site, app):
    add_user(site, "admin@example.com", "admin")
    add_user(site, "rep@example.com", "sales_rep")
    site.records.create(ADMIN, "notes", {"title": "old", "custom": {"size": "medium"}})
    admin, token = signed_in(app, "admin@example.com")
    index = admin.get("/admin/option-lists").text
    assert 'href="/admin/option-lists/sizes.size"' in index and "Note · Size" in index and "notes.custom.size" not in index  # the field that uses it, in words
    page = admin.get("/admin/option-lists/sizes.size").text
    assert re.findall(r'name="position\.(\w+)"', page) == ["small", "medium", "large"]
    rows = {"csrf_token": token, "list_en": "Size", "list_zh_CN": "规模"}
    for position, (code, en, zh) in enumerate((("small", "S", "小"), ("medium", "Medium", "中"), ("large", "Large", "大号"))):
        rows |= {f"present.{code}": "1", f"en.{code}": en, f"zh_CN.{code}": zh, f"position.{code}": str(3 - position), f"colour.{code}": ""}
    rows["archived.medium"] = "1"
    saved = admin.post("/admin/option-lists/sizes.size", data=rows)
    assert saved.status_code == 303
    listed = site.view.option_lists["sizes.size"]
    assert [o.code for o in listed.ordered()] == ["large", "medium", "small"]
    assert listed.option("medium").archived and listed.option("large").label["zh_CN"] == "大号" and listed.option("small").colour is None
    wrong = admin.post("/admin/option-lists/sizes.size", data={**rows, "colour.small": "green"})
    assert wrong.status_code == 422 and "Nothing was saved" in wrong.text
    added = admin.post("/admin/option-lists/sizes.size/options", data={"csrf_token": token, "code": "xl", "en": "Extra large", "zh_CN": "特大", "colour": "#123456"})
    assert added.status_code == 303 and site.view.option_lists["sizes.size"].option("xl").colour == "#123456"
    merged = admin.post("/admin/option-lists/sizes.size/merge", data={"csrf_token": token, "from": "medium", "into": "large"})
    assert merged.headers["location"] == "/admin/option-lists/sizes.size?merged=1"  # the old record now holds "large"
    assert "1 records changed" in admin.get(merged.headers["location"]).text
    into_archived = admin.post("/admin/option-lists/sizes.size/merge", data={"csrf_token": token, "from": "xl", "into": "medium"})
    assert into_archived.status_code == 422 and "not a current option" in into_archived.text
    created = admin.post("/admin/option-lists", data={"csrf_token": token, "name": "regions", "label_en": "Region", "label_zh_CN": "地区", "tree": "1"})
    assert created.status_code == 303 and site.view.option_lists["regions"].tree
    rep, _ = signed_in(app, "rep@example.com")
    assert rep.get("/admin/option-lists").status_code == 403


def test_forms_lists_and_details_show_labels_colours_and_a_multiple_select_filter(site, app):
    add_user(site, "admin@example.com", "admin")
    admin, _ = signed_in(app, "admin@example.com")
    small = site.records.create(ADMIN, "notes", {"title": "Small one", "custom": {"size": "small"}})
    site.records.create(ADMIN, "notes", {"title": "Large one", "custom": {"size": "large"}})
    old = site.records.create(ADMIN, "notes", {"title": "Medium one", "custom": {"size": "medium"}})
    from kernel import optionlists

    optionlists.change_option(site, ADMIN, "sizes.size", "medium", {"archived": True})
    form = admin.get("/r/notes/new").text
    select = form.split('name="custom.size"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w+)"', select) == ["small", "large"]  # the archived one is not offered
    edit = admin.get(f"/r/notes/{old['id']}/edit").text.split('name="custom.size"')[1].split("</select>")[0]
    assert '<option value="medium" selected>Medium (archived)</option>' in edit  # but kept on its record
    listing = admin.get("/r/notes?f.custom.size__in=small&f.custom.size__in=medium").text
    assert "Small one" in listing and "Medium one" in listing and "Large one" not in listing
    assert 'name="f.custom.size__in" multiple' in listing and '<option value="medium" selected>' in listing
    assert 'border-left-color: #00aa00">Small</span>' in listing
    detail = admin.get(f"/r/notes/{small['id']}").text
    assert 'class="swatch" style="background: #00aa00"' in detail and "Small" in detail


def test_the_custom_field_editor_offers_a_choice_from_an_option_list(site, app):
    add_user(site, "admin@example.com", "admin")
    admin, token = signed_in(app, "admin@example.com")
    page = admin.get("/admin/fields/notes").text
    assert '<option value="option"' in page and '<option value="sizes.size"' in page
    added = admin.post("/admin/fields/notes", data={"csrf_token": token, "name": "fit", "label_en": "Fit", "label_zh_CN": "尺码", "kind": "option", "option_list": "sizes.size"})
    assert added.status_code == 303, added.text
    assert site.refresh().fields("notes")["fit"].schema == {"type": "string", "x-options": "sizes.size"}
    wrong = admin.post("/admin/fields/notes", data={"csrf_token": token, "name": "fit2", "label_en": "Fit", "kind": "option", "option_list": "nowhere"})
    assert wrong.status_code == 422 and "no option list named" in wrong.text
