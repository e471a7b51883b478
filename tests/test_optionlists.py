"""Option lists: declared with defaults, edited by admins, enforced on writes, merged, grouped by label."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kernel import Actor, Conflict, Option, OptionList, ValidationError, fielddefs, hookimpl, optionlists
from kernel.fielddescriptions import form_fields
from tests.example import plugin as notes_plugin

ADMIN = Actor(user_id=None, label="tester", role="admin", channel="api")

CATEGORIES = OptionList(
    "helpdesk.category",
    {"en": "Ticket category", "zh_CN": "工单分类"},
    (
        Option("hardware", {"en": "Hardware", "zh_CN": "硬件"}, colour="#d4380d"),
        Option("printer", {"en": "Printer", "zh_CN": "打印机"}, parent="hardware"),
        Option("software", {"en": "Software", "zh_CN": "软件"}),
        Option("billing", {"en": "Billing", "zh_CN": "账务"}),
    ),
    tree=True,
)


class Helpdesk:
    """Declares a tree of ticket categories; notes get a custom field that uses it."""

    NAME = "helpdesk"
    REQUIRES = ("notes",)

    @staticmethod
    @hookimpl
    def register_option_lists() -> list[OptionList]:
        return [CATEGORIES]


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, Helpdesk)
    fielddefs.add_field(site, ADMIN, "notes", "category", {"type": "string", "x-options": "helpdesk.category"}, label={"en": "Category", "zh_CN": "分类"})
    return site


def note(site, category, **values):
    return site.records.create(ADMIN, "notes", {"title": values.pop("title", "n"), "custom": {"category": category}, **values})


def test_a_declared_list_is_there_with_its_defaults_and_tree_labels(site):
    listed = site.view.option_lists["helpdesk.category"]
    assert [o.code for o in listed.ordered()] == ["hardware", "printer", "software", "billing"]  # a parent, then its children
    assert listed.labels["printer"] == {"en": "Hardware / Printer", "zh_CN": "硬件 / 打印机"}
    assert optionlists.describe(site, "helpdesk.category")["fields"] == ["notes.custom.category"]


def test_a_value_is_stored_as_a_code_whether_the_code_or_a_label_was_sent(site):
    assert note(site, "software")["custom"]["category"] == "software"
    assert note(site, "  硬件 ")["custom"]["category"] == "hardware"
    assert note(site, "PRINTER")["custom"]["category"] == "printer"
    with pytest.raises(ValidationError) as caught:
        note(site, "Plumbing")
    assert caught.value.details[0]["loc"] == ["custom", "category"]
    assert caught.value.details[0]["msg"].startswith("must be one of ")


def test_an_archived_option_stays_on_old_records_but_is_not_set_anew(site):
    old = note(site, "billing")
    optionlists.change_option(site, ADMIN, "helpdesk.category", "billing", {"archived": True})
    with pytest.raises(ValidationError, match="archived"):
        note(site, "billing")
    other = note(site, "software")
    with pytest.raises(ValidationError, match="archived"):
        site.records.update(ADMIN, "notes", other["id"], {"custom": {"category": "billing"}})
    kept = site.records.update(ADMIN, "notes", old["id"], {"title": "renamed", "custom": {"category": "billing"}})  # a whole form sent back
    assert kept["custom"]["category"] == "billing" and kept["title"] == "renamed"
    field_ = next(f for f in form_fields(site.view, site.view.entities["notes"]) if f.name == "category")
    assert "billing" not in field_.choices and field_.choice_label("billing", "zh_CN") == "账务"  # not offered, still shown
    with pytest.raises(ValidationError, match="archived"):
        site.records.update_many(ADMIN, "notes", ids=[other["id"]], changes={"custom": {"category": "billing"}})


def test_admins_add_reorder_colour_and_nest_options(site):
    optionlists.add_option(site, ADMIN, "helpdesk.category", {"code": "scanner", "label": {"en": "Scanner", "zh_CN": "扫描仪"}, "parent": "hardware", "colour": "#00aa00"})
    listed = optionlists.reorder(site, ADMIN, "helpdesk.category", ["billing", "software"])
    assert [o["code"] for o in listed["options"]] == ["billing", "software", "hardware", "printer", "scanner"]
    assert site.view.option_lists["helpdesk.category"].colours["scanner"] == "#00aa00"
    assert note(site, "扫描仪")["custom"]["category"] == "scanner"
    with pytest.raises(ValidationError, match="own ancestor"):
        optionlists.change_option(site, ADMIN, "helpdesk.category", "hardware", {"parent": "scanner"})
    with pytest.raises(ValidationError, match="not an option"):
        optionlists.change_option(site, ADMIN, "helpdesk.category", "billing", {"parent": "nowhere"})
    with pytest.raises(ValidationError, match="colour"):
        optionlists.change_option(site, ADMIN, "helpdesk.category", "billing", {"colour": "red"})
    with pytest.raises(ValidationError, match="already has this label"):
        optionlists.add_option(site, ADMIN, "helpdesk.category", {"code": "soft2", "label": {"en": "software", "zh_CN": "软件2"}})
    with pytest.raises(Conflict):
        optionlists.add_option(site, ADMIN, "helpdesk.category", {"code": "billing", "label": "Billing again"})
    with pytest.raises(ValidationError, match="never changes"):
        optionlists.change_option(site, ADMIN, "helpdesk.category", "billing", {"code": "money"})


def test_a_flat_list_has_no_parents(site):
    optionlists.create_list(site, ADMIN, "sizes", {"en": "Size", "zh_CN": "规模"})
    optionlists.add_option(site, ADMIN, "sizes", {"code": "small", "label": {"en": "Small", "zh_CN": "小"}})
    with pytest.raises(ValidationError, match="not a tree"):
        optionlists.add_option(site, ADMIN, "sizes", {"code": "tiny", "label": "Tiny", "parent": "small"})


def test_merging_rewrites_every_record_in_one_statement_and_keeps_history(site):
    optionlists.add_option(site, ADMIN, "helpdesk.category", {"code": "invoices", "label": {"en": "Invoices", "zh_CN": "发票"}})
    moved = [note(site, "invoices", title=f"n{i}") for i in range(3)]
    untouched = note(site, "software")
    answer = optionlists.merge(site, ADMIN, "helpdesk.category", "invoices", "billing")
    assert answer["records"] == {"notes.category": 3}
    assert {site.records.get(ADMIN, "notes", n["id"])["custom"]["category"] for n in moved} == {"billing"}
    assert site.records.get(ADMIN, "notes", untouched["id"])["custom"]["category"] == "software"
    assert site.records.history(ADMIN, "notes", moved[0]["id"])[0]["changes"] == {"custom.category": ["invoices", "billing"]}
    merged = site.view.option_lists["helpdesk.category"].option("invoices")
    assert merged.archived and merged.merged_into == "billing"
    assert note(site, "发票")["custom"]["category"] == "billing"  # the old label still resolves, to the survivor
    with site.engine.connect() as conn:
        entry = conn.execute(sa.text("SELECT changes FROM kernel_audit WHERE entity = 'option_lists' AND action = 'merge'")).scalar_one()
    assert "invoices" in str(entry) and "billing" in str(entry)
    with pytest.raises(ValidationError):
        optionlists.merge(site, ADMIN, "helpdesk.category", "software", "invoices")  # not into an archived one


def test_list_filters_take_several_codes_and_aggregates_group_by_label(site):
    for category in ("hardware", "software", "software", "billing"):
        note(site, category)
    page = site.records.list(ADMIN, "notes", filters={"category__in": "software,billing"})
    assert page.total == 3
    groups = site.records.aggregate(ADMIN, "notes", group_by=["category"], locale="zh_CN").groups
    assert {g["label"]: g["count"] for g in groups} == {"硬件": 1, "软件": 2, "账务": 1}
    assert next(g for g in groups if g["key"] == "hardware")["colour"] == "#d4380d"


def test_a_custom_field_needs_an_existing_list(site):
    with pytest.raises(ValidationError) as caught:
        fielddefs.add_field(site, ADMIN, "notes", "size", {"type": "string", "x-options": "nowhere"})
    assert caught.value.details[0]["loc"] == ["schema", "x-options"]


def test_changes_reach_another_process(site, make_site):
    optionlists.change_option(site, ADMIN, "helpdesk.category", "software", {"label": {"en": "Apps", "zh_CN": "应用"}})
    other = make_site(notes_plugin, Helpdesk)
    assert other.view.option_lists["helpdesk.category"].option("software").label == {"en": "Apps", "zh_CN": "应用"}
    assert [o.code for o in other.view.option_lists["helpdesk.category"].ordered()][:3] == ["hardware", "printer", "software"]


def test_free_text_is_converted_to_codes_and_the_rest_flagged_for_review(site):
    rows = [note(site, None, title=t) for t in ("a", "b", "c", "d", "e")]
    table = site.view.entities["notes"].table
    with site.write() as conn:  # a text column as an older version left it
        for row, text in zip(rows, ("Hardware", " 软件 ", "Plumbing", "plumbing", "水电")):
            conn.execute(sa.update(table).where(table.c.id == row["id"]).values(title=text))
        mapping = optionlists.convert_free_text(conn, table.name, "title", CATEGORIES, now=site.clock.now())
        site.bump(conn)
    assert mapping["Hardware"] == "hardware" and mapping[" 软件 "] == "software"
    assert mapping["Plumbing"] == "plumbing" and "plumbing" not in mapping  # one option; that text is its code already
    assert mapping["水电"].startswith("x")
    listed = site.view.option_lists["helpdesk.category"]
    assert listed.option("plumbing").review and listed.option("plumbing").label == {"en": "Plumbing", "zh_CN": "Plumbing"}
    assert listed.option(mapping["水电"]).label["zh_CN"] == "水电"
    with site.engine.connect() as conn:
        titles = set(conn.scalars(sa.select(table.c.title)))
    assert titles == {"hardware", "software", "plumbing", mapping["水电"]}


def test_a_list_name_and_codes_are_checked_when_declared():
    with pytest.raises(TypeError, match="code"):
        optionlists.check_declared(OptionList("x.y", {"en": "X"}, (Option("bad code", {"en": "B"}),)))
    with pytest.raises(TypeError, match="name"):
        optionlists.check_declared(OptionList("Bad-Name", {"en": "X"}))


def test_odd_values_are_refused_with_the_field_named(site):
    for body, loc in (({"colour": 5}, "colour"), ({"archived": "yes"}, "archived"), ({"label": 3}, "label"), ({"parent": 7}, "parent"), ({"shade": 1}, "shade")):
        with pytest.raises(ValidationError) as caught:
            optionlists.change_option(site, ADMIN, "helpdesk.category", "billing", body)
        assert loc in caught.value.details[0]["loc"], body
    with pytest.raises(ValidationError):
        optionlists.create_list(site, ADMIN, "flags", "Flags", tree="yes")
    with pytest.raises(TypeError, match="colour"):
        optionlists.check_declared(OptionList("x.y", {"en": "X"}, (Option("a", {"en": "A"}, colour="red;}"),)))
