"""Alembic environment: called by :mod:`kernel.migrations`, never by the ``alembic`` command."""

from __future__ import annotations

from typing import Any

from alembic import context

from kernel.db import Base
from kernel.search import FTS_PREFIX, TOKENS_INDEX

config = context.config
prefix = config.attributes.get("table_prefix")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "index" and name and name.startswith("cfx_"):
        return False  # custom-field indexes are made at run time by the kernel, not by migrations
    if name and (name.startswith(FTS_PREFIX) or name == TOKENS_INDEX):
        return False  # kernel_search's FTS5 tables (SQLite) and GIN index (PostgreSQL): dialect-specific DDL
    if prefix and type_ == "table":
        return bool(name and name.startswith(prefix))
    if prefix and hasattr(obj, "table"):
        return bool(obj.table.name.startswith(prefix))
    return True


context.configure(
    connection=config.attributes["connection"],
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=True,
    compare_type=True,
    user_module_prefix="kernel.",  # kernel.UTCDateTime, kernel.JSONData: the public names a plugin's migration may use
)
with context.begin_transaction():
    context.run_migrations()
