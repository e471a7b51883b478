"""The leads' migration creates the tables their models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


@pytest.mark.parametrize("entity", ["leads", "lead_pools"])
def test_the_migration_matches_the_model(site, entity):
    table = site.view.entities[entity].table

    def include(obj, name, type_, reflected, compare_to):
        owner = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return owner == table.name

    with site.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        assert compare_metadata(context, table.metadata) == []
