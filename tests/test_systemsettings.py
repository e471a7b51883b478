"""Run-time settings: default → crm.toml → an admin's change, checked like crm.toml, seen by every process."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from kernel import Actor, Duplicate, NotFound, Settings, Site, ValidationError
from kernel import systemsettings
from kernel.audit import AUDIT
from kernel.models import SystemSetting, Version
from kernel.site import REGISTRY
from plugins.customers.settings import settings_of

ROWS = SystemSetting.__table__


@pytest.fixture
def site(make_site):
    return make_site(plugins=("customers",), plugin_settings={"customers": {"churn_window_days": 30}})


@pytest.fixture
def admin(site):
    user = site.records.create(Actor.system("cli"), "users", {"email": "boss@example.com", "password": "s3cret-pass", "role": "admin"})
    return Actor(user_id=user["id"], label=user["email"], role="admin", channel="api")


def stored(site):
    with site.engine.connect() as conn:
        return {(r.scope, r.name): r.value for r in conn.execute(sa.select(ROWS))}


def settings_audit(site):
    with site.engine.connect() as conn:
        query = sa.select(AUDIT.c.action, AUDIT.c.changes, AUDIT.c.actor).where(AUDIT.c.entity == "settings").order_by(AUDIT.c.id)
        return [tuple(row) for row in conn.execute(query)]


def version(site):
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(Version.value).where(Version.name == REGISTRY))


def by_name(site, scope):
    return {s["name"]: s for s in systemsettings.describe(site, scope)[0]["settings"]}


def test_default_then_file_then_override(site, admin):
    described = by_name(site, "customers")
    assert (described["churn_ratio"]["value"], described["churn_ratio"]["source"]) == (0.5, "default")
    assert (described["churn_window_days"]["value"], described["churn_window_days"]["source"]) == (30, "file")

    before = version(site)
    systemsettings.change(site, admin, "customers", {"churn_window_days": 60, "churn_ratio": 0.25})
    assert settings_of(site).churn_window_days == 60 and settings_of(site).churn_ratio == 0.25
    assert site.plugin_config("customers")["churn_window_days"] == 60
    described = by_name(site, "customers")
    assert described["churn_window_days"]["source"] == "override"
    assert described["churn_window_days"]["file_value"] == 30
    assert described["churn_window_days"]["changed_by"] == "boss@example.com"
    assert stored(site) == {("customers", "churn_window_days"): 60, ("customers", "churn_ratio"): 0.25}
    assert version(site) == before + 1
    assert settings_audit(site) == [
        ("update", {"customers.churn_ratio": [0.5, 0.25], "customers.churn_window_days": [30, 60]}, "boss@example.com")
    ]


def test_a_changed_setting_changes_the_plugins_behaviour(site, admin):
    maker = Actor.system("cli")
    site.records.create(maker, "customers", {"name": "ACME", "phone": "13800138000"})
    with pytest.raises(Duplicate):
        site.records.create(maker, "customers", {"name": "ACME", "phone": "13800138000"}, on_duplicate="refuse")
    systemsettings.change(site, admin, "customers", {"dedupe": False})  # (levels became an option list: kernel.optionlists)
    assert site.records.create(maker, "customers", {"name": "ACME", "phone": "13800138000"}, on_duplicate="refuse")["name"] == "ACME"


def test_an_unchanged_value_stores_nothing(site, admin):
    systemsettings.change(site, admin, "customers", {"churn_window_days": 30, "dedupe": True})
    assert stored(site) == {} and settings_audit(site) == []


def test_a_wrong_value_is_refused_like_crm_toml_and_nothing_is_stored(site, admin):
    with pytest.raises(ValidationError) as caught:
        systemsettings.change(site, admin, "customers", {"churn_window_days": 60, "churn_ratio": 2})
    assert caught.value.details == [{"loc": ["churn_ratio"], "msg": "2 is greater than the maximum of 1"}]
    with pytest.raises(ValidationError) as caught:
        systemsettings.change(site, admin, "customers", {"levels": "A"})
    assert caught.value.details[0]["loc"] == ["levels"] and "is not of type 'array'" in caught.value.details[0]["msg"]
    with pytest.raises(ValidationError, match="unknown setting"):
        systemsettings.change(site, admin, "customers", {"churn_windw_days": 60})
    with pytest.raises(ValidationError) as caught:
        systemsettings.change(site, admin, "crm", {"default_locale": "fr"})
    assert caught.value.details == [{"loc": ["default_locale"], "msg": "must be one of zh_CN, en"}]
    with pytest.raises(NotFound):
        systemsettings.change(site, admin, "sea", {"claim_limit": 3})
    assert stored(site) == {} and settings_audit(site) == []
    assert settings_of(site).churn_window_days == 30


def test_reset_goes_back_to_the_file_value(site, admin):
    systemsettings.change(site, admin, "customers", {"churn_window_days": 60})
    systemsettings.reset(site, admin, "customers", "churn_window_days")
    assert settings_of(site).churn_window_days == 30
    assert stored(site) == {}
    assert [a for a, _, _ in settings_audit(site)] == ["update", "reset"]
    assert settings_audit(site)[1][1] == {"customers.churn_window_days": [60, 30]}
    with pytest.raises(NotFound, match="no run-time value"):
        systemsettings.reset(site, admin, "customers", "churn_window_days")


def test_kernel_settings_default_locale_and_org_name(site, admin):
    assert site.settings.default_locale == "zh_CN" and site.settings.org_name == ""
    systemsettings.change(site, admin, "crm", {"default_locale": "en", "org_name": "ACME 销售部"})
    assert site.settings.default_locale == "en" and site.settings.org_name == "ACME 销售部"
    assert site.file_settings.default_locale == "zh_CN"
    with pytest.raises(ValidationError, match="at most 120 characters"):
        systemsettings.change(site, admin, "crm", {"org_name": "x" * 121})
    systemsettings.change(site, admin, "crm", {"org_name": None})
    assert site.settings.org_name == ""


def test_a_second_site_sees_the_change_once_its_refresh_interval_has_passed(site, admin, database_url):
    patient = Site(Settings(database_url=database_url, plugins=("customers",), refresh_seconds=3600))
    eager = Site(Settings(database_url=database_url, plugins=("customers",), refresh_seconds=0))
    try:
        assert settings_of(patient).churn_ratio == 0.5 and patient.settings.default_locale == "zh_CN"
        systemsettings.change(site, admin, "customers", {"churn_ratio": 0.2})
        systemsettings.change(site, admin, "crm", {"default_locale": "en"})
        assert settings_of(eager).churn_ratio == 0.2 and eager.settings.default_locale == "en"
        assert settings_of(patient).churn_ratio == 0.5  # its view is still fresh enough
        patient.refresh()  # what happens once refresh_seconds have passed
        assert settings_of(patient).churn_ratio == 0.2 and patient.settings.default_locale == "en"
    finally:
        patient.close()
        eager.close()


def test_a_stored_value_that_no_longer_passes_is_ignored(site, caplog):
    with site.write() as conn:
        conn.execute(sa.insert(ROWS).values(scope="customers", name="churn_ratio", value="high", changed_at=site.clock.now()))
        site.bump(conn)
    with caplog.at_level(logging.WARNING, logger="kernel.systemsettings"):
        assert settings_of(site).churn_ratio == 0.5
    assert "run-time settings of plugin customers ignored" in caplog.text


def test_read_only_settings_hide_secrets(make_site, database_url):
    site = make_site(secret_key="very-secret")
    shown = systemsettings.read_only(site)
    assert shown["secret_key"] == "configured" and "very-secret" not in repr(shown)
    assert shown["database_url"] == sa.make_url(database_url).render_as_string(hide_password=True)
    assert "core" in shown["installed_plugins"]


def test_a_database_from_before_the_settings_table_still_opens(site):
    """``crm db upgrade`` reads the view before it creates ``kernel_settings``."""
    with site.write() as conn:
        conn.execute(sa.text("DROP TABLE kernel_settings"))
        site.bump(conn)
    site.refresh(force=True)
    assert site.plugin_config("customers")["churn_window_days"] == 30
    assert site.settings.default_locale in ("zh_CN", "en")
