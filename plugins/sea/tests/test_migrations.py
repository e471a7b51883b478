"""The sea's migration creates the table its model describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from plugins.sea import KIND


def test_the_migration_matches_the_model(site):
    table = site.view.entities[KIND.pool_entity].table

    def include(obj, name, type_, reflected, compare_to):
        owner = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return owner == table.name

    with site.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        assert compare_metadata(context, table.metadata) == []
