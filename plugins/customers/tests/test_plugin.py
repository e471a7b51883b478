"""The plugin loads alone, its migrations match its models, its settings and permissions are declared."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel import Base, ConfigError, Settings, Site
from kernel.testing import registered_permissions


def test_loads_alone_with_its_requirements(site):
    assert site.view.enabled == ("core", "customers")
    assert {"customers", "contacts", "followups", "tasks"} <= set(site.view.entities)
    assert {"customers.send_reminders", "customers.flag_churn"} <= set(site.view.jobs)


def test_migrations_match_the_models(site):
    def include(obj, name, type_, reflected, compare_to):
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return bool(table) and table.startswith(("customers_", "kernel_notifications"))

    with site.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_every_permission_it_uses_is_registered(site):
    known = registered_permissions(site)
    for name in ("customers.merge", "customers.unmerge", "contacts.create", "followups.read", "tasks.read", "customers.read"):
        assert name in known, name
    widgets = [w for batch in site.view.pm.hook.register_dashboard_widgets() for w in batch or ()]
    assert all(w.permission in known for w in widgets if w.permission)
    assert set(known["customers.merge"].roles) == {"sales_manager"}


def test_settings_have_defaults_and_refuse_unknown_keys(database_url):
    site = Site(Settings(database_url=database_url, plugins=("customers",)))
    assert site.plugin_config("customers")["levels"] == ["A", "B", "C"]
    assert site.plugin_config("customers")["churn_ratio"] == 0.5
    with pytest.raises(ConfigError, match=r"plugins\.customers\.levles: unknown key"):
        Site(Settings(database_url=database_url, plugins=("customers",), plugin_settings={"customers": {"levles": ["A"]}}))
    with pytest.raises(ConfigError, match=r"plugins\.customers\.churn_ratio"):
        Site(Settings(database_url=database_url, plugins=("customers",), plugin_settings={"customers": {"churn_ratio": 2}}))
    site.close()


def test_tables_are_all_prefixed(site):
    names = set(sa.inspect(site.engine).get_table_names())
    assert {"customers_customers", "customers_contacts", "customers_followups", "customers_tasks", "customers_merges", "customers_shares"} <= names


def test_its_record_rules_are_described_for_the_admin_pages(site):
    described = [rule for batch in site.view.pm.hook.register_record_rule_descriptions() for rule in batch or ()]
    assert {(rule["entity"], rule["combine"]) for rule in described} == {("customers", "or")}  # children: their declared parent
    assert all(rule["label"]["en"] and rule["label"]["zh_CN"] for rule in described)
