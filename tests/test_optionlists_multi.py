"""Option lists on multiple-choice fields (a list of codes), a tree list's filter taking the
descendants, and labels — never codes — in the record's history, list, detail and filters."""

from __future__ import annotations

import re
from html import unescape

import pytest

from kernel import Actor, ValidationError, fielddefs, optionlists
from kernel.fielddescriptions import form_fields
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.test_optionlists import ADMIN, Helpdesk
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")
AREAS = {"type": "array", "items": {"type": "string", "x-options": "helpdesk.category"}, "uniqueItems": True}


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, Helpdesk, default_locale="zh_CN")
    fielddefs.add_field(site, ADMIN, "notes", "areas", AREAS, label={"en": "Areas", "zh_CN": "涉及领域"})
    fielddefs.add_field(site, ADMIN, "notes", "category", {"type": "string", "x-options": "helpdesk.category"}, label={"en": "Category", "zh_CN": "分类"})
    return site


def note(site, areas, **values):
    return site.records.create(SYSTEM, "notes", {"title": values.pop("title", "n"), "custom": {"areas": areas, **values}})


def test_a_multiple_choice_stores_codes_in_the_lists_order_from_codes_or_labels(site):
    assert note(site, ["账务", "PRINTER", "software", "printer"])["custom"]["areas"] == ["printer", "software", "billing"]
    with pytest.raises(ValidationError) as caught:
        note(site, ["software", "Plumbing"])
    assert caught.value.details[0]["loc"] == ["custom", "areas", 1]
    with pytest.raises(ValidationError):
        fielddefs.add_field(site, ADMIN, "notes", "nowhere", {"type": "array", "items": {"type": "string", "x-options": "no.such"}})


def test_an_archived_option_stays_on_the_records_holding_it(site):
    old = note(site, ["billing", "software"])
    optionlists.change_option(site, ADMIN, "helpdesk.category", "billing", {"archived": True})
    with pytest.raises(ValidationError, match="archived"):
        note(site, ["billing"])
    kept = site.records.update(SYSTEM, "notes", old["id"], {"custom": {"areas": ["software", "billing"]}})
    assert kept["custom"]["areas"] == ["software", "billing"]


def test_filters_pick_any_of_the_chosen_options_and_a_tree_node_takes_its_children(site):
    a, b, c = note(site, ["printer"], title="a"), note(site, ["software", "billing"], title="b"), note(site, [], title="c")
    found = site.records.list(SYSTEM, "notes", filters={"areas__in": "billing,printer"}).items
    assert sorted(r["title"] for r in found) == ["a", "b"]
    assert [r["title"] for r in site.records.list(SYSTEM, "notes", filters={"areas": "software"}).items] == ["b"]
    site.records.update(SYSTEM, "notes", c["id"], {"custom": {"category": "printer"}})
    site.records.update(SYSTEM, "notes", a["id"], {"custom": {"category": "software"}})
    add_user(site, "admin@example.com", "admin")
    client, _ = signed_in(create_app(site=site), "admin@example.com")
    page = client.get("/r/notes", params={"f.custom.category__in": "hardware"}).text
    assert ">c</a>" in page and ">a</a>" not in page  # 硬件 takes 硬件 / 打印机 with it
    assert 'name="f.custom.category__in" data-cascade=' in page


def test_a_merge_rewrites_the_lists_that_hold_the_option(site):
    held = note(site, ["billing", "software"])
    answer = optionlists.merge(site, ADMIN, "helpdesk.category", "billing", "software")
    assert answer["records"]["notes.areas"] == 1
    assert site.records.get(SYSTEM, "notes", held["id"])["custom"]["areas"] == ["software"]
    changes = site.records.history(SYSTEM, "notes", held["id"])[0]["changes"]
    assert changes["custom.areas"] == [["software", "billing"], ["software"]]


def test_pages_show_labels_not_codes_in_the_form_list_detail_filters_and_history(site):
    record = note(site, ["printer", "billing"])
    site.records.update(SYSTEM, "notes", record["id"], {"custom": {"areas": ["software"], "category": "printer"}})
    field = next(f for f in form_fields(site.view, site.view.entities["notes"]) if f.key == "custom.areas")
    assert field.widget == "multiselect" and field.choices == ("hardware", "printer", "software", "billing")
    add_user(site, "admin@example.com", "admin")
    client, _ = signed_in(create_app(site=site), "admin@example.com")
    listing = unescape(client.get("/r/notes").text)
    assert '<span class="cell-text" title="软件">软件</span>' in listing
    # a select of the list's labels (a tree: cascading, a node taking its children with it)
    assert '<select id="filter-custom-areas" name="f.custom.areas__in" data-cascade=' in listing
    assert re.search(r'<option value="billing"\s*>账务</option>', listing)
    assert ">n</a>" in client.get("/r/notes", params={"f.custom.areas__in": "software"}).text
    assert ">n</a>" not in client.get("/r/notes", params={"f.custom.areas__in": "hardware"}).text
    history = unescape(client.get(f"/r/notes/{record['id']}/history").text)
    rows = re.findall(r'class="old">([^<]*)</td><td data-label="[^"]*" class="new">([^<]*)</td>', history)
    assert ("硬件 / 打印机, 账务", "软件") in rows and ("", "硬件 / 打印机") in rows
    assert "billing" not in re.sub(r"<[^>]+>", "", history)
    form = unescape(client.get(f"/r/notes/{record['id']}/edit").text)
    assert re.search(r'<option value="software" selected>软件</option>', form)
    assert "data-cascade=" in form  # the single choice of a tree: cascading selects


def test_the_audit_log_shows_labels_not_codes(site):
    record = note(site, ["printer"])
    site.records.update(SYSTEM, "notes", record["id"], {"custom": {"areas": ["software", "billing"], "category": "printer"}})
    add_user(site, "admin@example.com", "admin")
    client, _ = signed_in(create_app(site=site), "admin@example.com")
    page = unescape(client.get("/admin/audit", params={"entity": "notes"}).text)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "软件, 账务" in text and "硬件 / 打印机" in text
    assert not re.search(r"\b(printer|billing)\b", text)


# -- a built-in list of codes ---------------------------------------------------------------

import sqlalchemy as sa  # noqa: E402
from pydantic import BaseModel, ConfigDict, Field  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column  # noqa: E402

from kernel import Entity, RecordMixin, hookimpl  # noqa: E402
from kernel.testing import plugin_module  # noqa: E402


class KitBase(DeclarativeBase):
    """The test's own table, outside the kernel's metadata and migrations."""


class Kit(RecordMixin, KitBase):
    __tablename__ = "kits_kits"
    name: Mapped[str] = mapped_column(sa.String(100))
    areas: Mapped[list] = mapped_column(sa.JSON, default=list)


class KitFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    areas: list[str] = Field(default_factory=list, max_length=10, json_schema_extra={"x-options": "helpdesk.category"})


@hookimpl
def register_entities() -> list[Entity]:
    return [Entity("kits", {"en": "Kit", "zh_CN": "套件"}, {"en": "Kits", "zh_CN": "套件"}, Kit, KitFields)]


kits = plugin_module("kits", requires=("helpdesk",), register_entities=register_entities)


@pytest.fixture
def kit_site(make_site):
    site = make_site(notes_plugin, Helpdesk, kits, default_locale="zh_CN")
    KitBase.metadata.create_all(site.engine)
    return site


def test_a_built_in_list_field_takes_codes_filters_by_any_and_merges(kit_site):
    site = kit_site
    one = site.records.create(SYSTEM, "kits", {"name": "one", "areas": ["账务", "printer"]})
    two = site.records.create(SYSTEM, "kits", {"name": "two", "areas": ["software"]})
    assert one["areas"] == ["printer", "billing"]
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "kits", {"name": "bad", "areas": ["Plumbing"]})
    assert caught.value.details[0]["loc"] == ["areas", 0]
    field = next(f for f in form_fields(site.view, site.view.entities["kits"]) if f.name == "areas")
    assert field.widget == "multiselect" and field.extra["option_list"] == "helpdesk.category"
    assert [r["name"] for r in site.records.list(SYSTEM, "kits", filters={"areas__in": "billing,hardware"}).items] == ["one"]
    assert [r["name"] for r in site.records.list(SYSTEM, "kits", filters={"areas": "software"}).items] == ["two"]
    answer = optionlists.merge(site, ADMIN, "helpdesk.category", "billing", "software")
    assert answer["records"]["kits.areas"] == 1
    assert site.records.get(SYSTEM, "kits", one["id"])["areas"] == ["printer", "software"]
    assert site.records.get(SYSTEM, "kits", two["id"])["areas"] == ["software"]
