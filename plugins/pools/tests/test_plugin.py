"""The plugin loads alone and with a client, its migrations match its models, its tables are prefixed,
and every permission its actions need is registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kernel import Base, Site
from kernel.testing import registered_permissions, upgrade_to
from plugins.pools import plugin as pools_plugin
from plugins.pools.models import HOLDS


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


def test_holds_are_keyed_by_their_record_without_a_rowid_on_sqlite(site: Site) -> None:
    with site.engine.connect() as conn:
        assert sa.inspect(conn).get_pk_constraint("pools_holds")["constrained_columns"] == ["entity", "record_id"]
        if conn.dialect.name == "sqlite":
            sql = conn.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'pools_holds'"))
            assert "WITHOUT ROWID" in sql.upper()


def test_the_holds_migration_keeps_every_hold(make_site: Callable[..., Site]) -> None:
    site = make_site(pools_plugin, migrate=False)
    upgrade_to(site, "core@head", "pools@a41c7e9d2b60")  # holds with an id of their own
    at = site.clock.now()
    rows = [{"entity": "items", "record_id": i, "pool_id": 1, "user_id": 7 + i % 2, "assigned_at": at, "counted": i != 3, "reminded_at": None}
            for i in (5, 3, 9)]
    with site.write() as conn:
        conn.execute(sa.text("INSERT INTO pools_holds (entity, record_id, pool_id, user_id, assigned_at, counted, reminded_at) "
                             "VALUES (:entity, :record_id, :pool_id, :user_id, :assigned_at, :counted, :reminded_at)"), rows)

    def stored() -> list[tuple[Any, ...]]:
        with site.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text("SELECT entity, record_id, user_id, counted FROM pools_holds ORDER BY record_id"))]

    before = stored()
    upgrade_to(site)
    assert stored() == before and len(before) == 3
    with site.write() as conn:
        with pytest.raises(sa.exc.IntegrityError):  # one hold per record, as the unique constraint said
            with conn.begin_nested():
                conn.execute(sa.insert(HOLDS).values({**rows[0], "user_id": 99}))
