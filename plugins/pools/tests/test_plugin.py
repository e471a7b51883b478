"""The plugin loads alone and with a client, its migrations match its models, its tables are prefixed,
and every permission its actions need is registered."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel import Base, Site
from kernel.testing import registered_permissions
from plugins.pools import plugin as pools_plugin


def test_loads_alone(make_site: Callable[..., Site]) -> None:
    alone = make_site(pools_plugin)
    assert alone.view.enabled == ("core", "pools")
    assert "pools.reconcile" in alone.view.jobs and "pools.release_reasons" in alone.view.option_lists


def test_migrations_match_the_models(site: Site) -> None:
    def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return bool(table) and table.startswith(("pools_", "kernel_ownership_events"))

    with site.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_tables_are_all_prefixed() -> None:
    from plugins.pools import models

    assert all(t.startswith("pools_") for t in (models.HOLDINGS.name, models.DAILY.name, models.COOLDOWNS.name, models.ROTATIONS.name, models.HOLDS.name))


def test_the_pool_actions_are_permissions_of_the_pooled_entity(site: Site) -> None:
    known = registered_permissions(site)
    for action in ("claim", "release", "transfer", "assign"):
        assert f"items.{action}" in known
    assert "sales_rep" in known["items.claim"].roles and "sales_manager" in known["items.assign"].roles
