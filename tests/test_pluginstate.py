"""Enabling and disabling plugins at run time.

The choice is stored in the database and announced by bumping the registry
version row. Every process re-reads that row at most every
``settings.refresh_seconds`` (2 s by default; the ``make_site`` fixture uses 0,
the child process here 0.2) when it next looks at ``site.view``, so a toggle or
a new custom field is seen by every running process within that time, without
a restart.
"""

import pytest
import sqlalchemy as sa

from kernel import NotFound, PluginError, Settings, Site
from kernel.audit import AUDIT
from kernel.fielddefs import add_field
from kernel.pluginstate import describe_plugins, disable_plugin, enable_plugin
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note
from tests.helpers import SPAWN, answer_questions, child_process, plugin_module, receive

MOOD = {"type": "string", "enum": ["happy", "sad"]}


def stored_titles(site):
    """Read straight from the table: works while the plugin is disabled, too."""
    with site.engine.connect() as conn:
        return sorted(conn.scalars(sa.select(Note.__table__.c.title)))


def test_a_second_process_sees_toggles_and_new_fields_without_a_restart(site, admin, database_url):
    questions, replies = SPAWN.Queue(), SPAWN.Queue()

    def ask(question, expected):
        questions.put((question, expected))
        return receive(replies)

    with child_process(answer_questions, database_url, [notes_plugin.__name__], 0.2, questions, replies) as child:
        assert ask("notes_visible", True) is True
        disable_plugin(site, admin, "notes")
        assert ask("notes_visible", False) is False
        enable_plugin(site, admin, "notes")
        assert ask("notes_visible", True) is True

        assert ask("mood_enforced", False) is False
        add_field(site, admin, "notes", "mood", MOOD)
        assert ask("mood_enforced", True) is True
        questions.put(None)
    assert child.exitcode == 0
    written = site.records.list(admin, "notes", filters={"mood": "happy"}).items
    assert [(n["title"], n["custom"]) for n in written] == [("happy", {"mood": "happy"})]


def test_a_process_keeps_its_view_until_refresh_seconds_pass(site, admin, database_url):
    patient = Site(Settings(database_url=database_url, plugins=("notes",), refresh_seconds=3600), extra_plugins=[notes_plugin])
    try:
        assert patient.view.entity("notes") is not None
        disable_plugin(site, admin, "notes")
        assert patient.view.entity("notes") is not None
        assert patient.refresh().entity("notes") is None
    finally:
        patient.close()


def test_disabling_hides_entities_and_jobs_but_keeps_the_data(site, admin):
    kept = site.records.create(admin, "notes", {"title": "keep me"})
    disable_plugin(site, admin, "notes")

    assert site.view.entity("notes") is None
    assert "notes.archive_stale" not in site.view.jobs
    with pytest.raises(NotFound):
        site.records.get(admin, "notes", kept["id"])
    assert stored_titles(site) == ["keep me"]
    assert {p["name"]: p["enabled"] for p in describe_plugins(site)}["notes"] is False

    enable_plugin(site, admin, "notes")
    assert site.records.get(admin, "notes", kept["id"])["title"] == "keep me"
    assert "notes.archive_stale" in site.view.jobs


def test_enabling_runs_the_plugins_migrations(make_site, admin):
    site = make_site(notes_plugin, plugins=())
    assert "notes_notes" not in sa.inspect(site.engine).get_table_names()
    assert site.view.entity("notes") is None

    enable_plugin(site, admin, "notes")
    assert "notes_notes" in sa.inspect(site.engine).get_table_names()
    note = site.records.create(admin, "notes", {"title": "first"})
    assert site.records.get(admin, "notes", note["id"])["title"] == "first"


def test_toggles_are_audited(site, admin):
    disable_plugin(site, admin, "notes")
    enable_plugin(site, admin, "notes")
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(AUDIT.c.action, AUDIT.c.actor).where(AUDIT.c.entity == "plugins").order_by(AUDIT.c.id)).all()
    assert [tuple(row) for row in rows] == [("disable", "tester"), ("enable", "tester")]


def test_the_essential_core_plugin_cannot_be_disabled(site, admin):
    with pytest.raises(PluginError, match="'core' is part of the kernel"):
        disable_plugin(site, admin, "core")
    assert "core" in site.view.enabled


def test_unknown_plugins_are_refused(site, admin):
    for toggle in (enable_plugin, disable_plugin):
        with pytest.raises(PluginError, match="no plugin named 'ghost'"):
            toggle(site, admin, "ghost")


@pytest.fixture
def alpha_beta_site(make_site):
    """``beta`` requires ``alpha``; both enabled."""
    return make_site(plugin_module("alpha"), plugin_module("beta", requires=["alpha"]))


def test_a_required_plugin_cannot_be_disabled_while_its_dependent_is_enabled(alpha_beta_site, admin):
    with pytest.raises(PluginError, match="'alpha' is required by beta"):
        disable_plugin(alpha_beta_site, admin, "alpha")
    assert "alpha" in alpha_beta_site.view.enabled

    disable_plugin(alpha_beta_site, admin, "beta")
    disable_plugin(alpha_beta_site, admin, "alpha")
    assert alpha_beta_site.view.enabled == ("core",)


def test_a_plugin_cannot_be_enabled_while_its_requirement_is_disabled(alpha_beta_site, admin):
    disable_plugin(alpha_beta_site, admin, "beta")
    disable_plugin(alpha_beta_site, admin, "alpha")
    with pytest.raises(PluginError, match="'beta' requires alpha"):
        enable_plugin(alpha_beta_site, admin, "beta")
    assert "beta" not in alpha_beta_site.view.enabled

    enable_plugin(alpha_beta_site, admin, "alpha")
    enable_plugin(alpha_beta_site, admin, "beta")
    assert alpha_beta_site.view.enabled == ("core", "alpha", "beta")
