"""Plugin discovery, ordering and every start-up error."""

import types

import pytest

from kernel import ConfigError, PluginError, Settings, Site, hookimpl
from kernel.plugins import ESSENTIAL, installed_plugins, make_plugin_manager, resolve_order
from tests.example import plugin as notes_plugin
from tests.helpers import plugin_module as plugin


def test_core_is_always_installed_and_first():
    installed = installed_plugins([plugin("a")])
    assert installed[ESSENTIAL].essential
    assert resolve_order(installed, ["a"]) == ["core", "a"]


def test_requirements_come_before_their_dependents():
    mods = [plugin("c", ["b"]), plugin("b", ["a"]), plugin("a"), plugin("d", ["a", "c"])]
    order = resolve_order(installed_plugins(mods), ["d", "c", "b", "a"])
    assert order[0] == "core"
    for later, earlier in [("b", "a"), ("c", "b"), ("d", "c"), ("d", "a")]:
        assert order.index(earlier) < order.index(later)


def test_unknown_plugin_names_it_and_the_installed_ones():
    with pytest.raises(ConfigError) as caught:
        resolve_order(installed_plugins([plugin("a")]), ["a", "zzz"], source="crm.toml")
    assert str(caught.value).startswith("crm.toml: crm.plugins: unknown plugin 'zzz' (installed: a")


def test_missing_requirement_names_both_plugins():
    with pytest.raises(ConfigError, match="plugin 'b' requires 'a', which is not enabled"):
        resolve_order(installed_plugins([plugin("a"), plugin("b", ["a"])]), ["b"])


def test_requirement_on_an_uninstalled_plugin():
    with pytest.raises(ConfigError, match="plugin 'b' requires 'ghost'"):
        resolve_order(installed_plugins([plugin("b", ["ghost"])]), ["b"])


def test_requirement_cycle_is_reported_with_its_path():
    mods = [plugin("a", ["c"]), plugin("b", ["a"]), plugin("c", ["b"])]
    with pytest.raises(ConfigError) as caught:
        resolve_order(installed_plugins(mods), ["a", "b", "c"], source="crm.toml")
    message = str(caught.value)
    assert "cycle" in message and "->" in message
    assert all(name in message for name in "abc")


def test_plugin_without_name_is_refused():
    nameless = types.ModuleType("nameless")
    with pytest.raises(PluginError, match="has no NAME"):
        installed_plugins([nameless])


def test_manager_is_a_fresh_object_each_time():
    infos = installed_plugins([notes_plugin]).values()
    first, second = make_plugin_manager(infos), make_plugin_manager(infos)
    assert first is not second
    assert first.get_plugin("notes") is notes_plugin


def test_unknown_hook_implementation_fails_at_start():
    broken = plugin("broken", register_widgetz=lambda: [])
    with pytest.raises(Exception, match="register_widgetz"):
        make_plugin_manager(installed_plugins([broken]).values())


def test_plugin_settings_defaults_and_errors(database_url):
    site = Site(Settings(database_url=database_url, plugins=("notes",)), extra_plugins=[notes_plugin])
    assert site.plugin_config("notes") == {"stale_days": 30}
    site.close()
    bad = [
        ({"notes": {"stale_dayz": 3}}, "plugins.notes.stale_dayz: unknown key"),
        ({"notes": {"stale_days": "x"}}, "plugins.notes.stale_days: 'x' is not of type 'integer'"),
        ({"notes": {"stale_days": 0}}, "plugins.notes.stale_days: 0 is less than the minimum of 1"),
        ({"ghost": {}}, "plugins.ghost: settings for a plugin that is not installed"),
    ]
    for tables, expected in bad:
        settings = Settings(database_url=database_url, plugins=("notes",), plugin_settings=tables, config_file="crm.toml")
        with pytest.raises(ConfigError) as caught:
            Site(settings, extra_plugins=[notes_plugin])
        assert str(caught.value) == f"crm.toml: {expected}"


def test_site_startup_rejects_unknown_plugins(database_url):
    with pytest.raises(ConfigError, match="unknown plugin 'no_such_module'"):
        Site(Settings(database_url=database_url, plugins=("no_such_module",), config_file="crm.toml"))


def test_entities_of_enabled_plugins_only(make_site):
    site = make_site(notes_plugin)
    assert set(site.view.entities) == {"users", "teams", "targets", "roles", "notes"}
    assert site.view.entities["notes"].plugin == "notes"
    bare = make_site(notes_plugin, plugins=())
    assert "notes" not in bare.view.entities


def test_two_plugins_registering_one_entity_fail_clearly(make_site):
    from kernel.core import register_entities as core_entities

    thief = plugin("thief", register_entities=lambda: [core_entities()[0]])
    site = make_site(thief)
    with pytest.raises(PluginError, match="entity 'users' is registered by two plugins"):
        site.refresh(force=True)


def test_a_plugin_can_offer_hooks_to_plugins_that_require_it():
    from kernel import hookspec

    specs = types.ModuleType("offerer_specs")

    def offerer_extra_colours():
        """Return colour names this plugin should also offer."""

    specs.offerer_extra_colours = hookspec(offerer_extra_colours)
    offerer = plugin("offerer")
    offerer.HOOKSPECS = specs
    user = plugin("user", ["offerer"], offerer_extra_colours=lambda: ["teal"])
    pm = make_plugin_manager(installed_plugins([offerer, user]).values())
    assert pm.hook.offerer_extra_colours() == [["teal"]]
    # without the offering plugin, an implementation of its hook is an error at start
    with pytest.raises(Exception, match="offerer_extra_colours"):
        make_plugin_manager([installed_plugins([user])["user"]])
