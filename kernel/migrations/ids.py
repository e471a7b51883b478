"""For migrations: make record tables keep their ids for good on SQLite (``AUTOINCREMENT``).

Without ``AUTOINCREMENT`` SQLite gives a new row the largest id + 1, so deleting
the newest record hands its id, and with it its audit history and every link
to it, to the next record. A table gets ``AUTOINCREMENT`` only when it is
created, so each table is rebuilt (Alembic's batch mode), with foreign keys off
for the rebuild so that dropping the old table neither cascades nor nulls
anything; its sequence then starts past every id the table or the audit log has
seen. PostgreSQL sequences never go back: nothing to do there.

A plugin's migration calls it with its tables and their entity names::

    never_reuse_ids({"notes_notes": "notes"})
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def never_reuse_ids(tables: dict[str, str]) -> None:
    """Rebuild each of ``tables`` (table name → entity name) with ``AUTOINCREMENT``, on SQLite."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # PRAGMA foreign_keys is ignored inside a transaction: end the migration's, rebuild in one of
    # our own with the checks off, and open a new one for the rest of the upgrade.
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        for table, entity in tables.items():
            if not _has_autoincrement(bind, table):
                with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                    pass
            _start_sequence_past_used_ids(bind, table, entity)
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rebuilding {', '.join(tables)} would break foreign keys: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        raise
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")


def _has_autoincrement(bind: sa.Connection, table: str) -> bool:
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    return sql is not None and "AUTOINCREMENT" in sql.upper()


def _start_sequence_past_used_ids(bind: sa.Connection, table: str, entity: str) -> None:
    used = bind.exec_driver_sql(
        f'SELECT max(coalesce((SELECT max(id) FROM "{table}"), 0),'
        " coalesce((SELECT max(record_id) FROM kernel_audit WHERE entity = ?), 0))",
        (entity,),
    ).scalar()
    if bind.exec_driver_sql("SELECT count(*) FROM sqlite_sequence WHERE name = ?", (table,)).scalar():
        bind.exec_driver_sql("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (used, table))
    else:
        bind.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, used))
