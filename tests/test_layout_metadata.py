"""List and record-page metadata on :class:`~kernel.entities.Entity` is checked at start-up, and menu
sections a plugin declares are checked when the menu is built."""

from __future__ import annotations

import dataclasses

import pytest

from kernel.entities import check_entity, title_column
from kernel.errors import PluginError
from kernel.records import Actor
from kernel.testing import plugin_module
from kernel.web.ui.listing import page_numbers
from kernel.web.ui.menu import build_menu

from tests.example import plugin as notes_plugin


def notes_entity():
    return next(e for e in notes_plugin.register_entities() if e.name == "notes")


@pytest.mark.parametrize("declared, message", [
    ({"list_columns": ("title", "nope")}, "list_columns names 'nope'"),
    ({"summary_fields": ("missing",)}, "summary_fields names 'missing'"),
    ({"title_field": "absent"}, "title_field names 'absent'"),
])
def test_metadata_naming_a_missing_column_is_refused(declared, message):
    with pytest.raises(TypeError, match=message):
        check_entity(dataclasses.replace(notes_entity(), **declared))


def test_custom_fields_may_be_named_and_the_title_field_wins():
    entity = dataclasses.replace(notes_entity(), list_columns=("title", "custom.rating"), title_field="status")
    check_entity(entity)
    assert title_column(entity) == "status"


def test_page_numbers_show_a_window_and_the_last_page_only_when_known():
    assert page_numbers(1, 1, True) == [1]
    assert page_numbers(6, 20, True) == [1, None, 4, 5, 6, 7, 8, None, 20]
    assert page_numbers(6, 20, False) == [1, None, 4, 5, 6, 7, 8]


def test_a_menu_section_needs_a_key_and_a_label(make_site):
    broken = plugin_module("broken", register_menu_sections=lambda: [{"key": "Sales!", "label": {"en": "x"}}])
    site = make_site(notes_plugin, broken, plugins=("notes", "broken"))
    with pytest.raises(PluginError, match="snake_case 'key'"):
        build_menu(site, Actor.system("test"), "en")


def test_an_entity_goes_under_its_declared_section_in_declaration_order(make_site):
    sections = plugin_module("sections", register_menu_sections=lambda: [{"key": "work", "label": {"en": "Work", "zh_CN": "工作"}, "order": 5}])
    site = make_site(notes_plugin, sections, plugins=("notes", "sections"))
    site.view.entities["notes"] = dataclasses.replace(site.view.entities["notes"], menu_section="work")
    admin = Actor(user_id=None, label="admin", role="admin")
    menu = build_menu(site, admin, "zh_CN")
    keys = [s.key for s in menu["sections"]]
    assert keys[0] == "work" and keys[-1] == "system"
    assert [i.url for i in menu["sections"][0].items] == ["/r/notes"]
    assert [i.url for i in build_menu(site, admin, "en")["sections"][-1].items] == [i.url for i in menu["sections"][-1].items]
