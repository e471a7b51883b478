"""A transaction for a dry run: its writes are never kept, and it never holds the database's write lock.

On SQLite a transaction that writes holds the one write lock of the whole database until it
ends, so a dry run of a large import in the live database would stop every other writer
(other workers answer "database is locked"). There, :func:`dry_run_transaction` runs on a
private copy of the database in a temporary file, made with SQLite's online backup — a read of
one snapshot, which in WAL mode neither waits for writers nor holds them up — and thrown away
afterwards. Elsewhere (PostgreSQL) it is a transaction of the database itself: its row locks
hold nobody up, and the caller rolls it back.

Either way the dry run goes through the same code as the real write, so it gives the same answers.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from .db import make_engine, write_transaction

if TYPE_CHECKING:
    from .site import Site


@contextmanager
def dry_run_transaction(site: Site) -> Iterator[sa.Connection]:
    """``with dry_run_transaction(site) as conn:`` — write freely, then raise to throw it all away."""
    if site.engine.dialect.name != "sqlite":
        with site.write() as conn:
            yield conn
        return
    with tempfile.TemporaryDirectory(prefix="crm-dry-run-") as folder:
        copy = Path(folder) / "copy.db"
        with site.engine.connect() as source:
            target = sqlite3.connect(copy)
            try:
                source.connection.driver_connection.backup(target)
            finally:
                target.close()
        engine = make_engine(f"sqlite:///{copy}", poolclass=NullPool)
        try:
            with write_transaction(engine) as conn:
                yield conn
        finally:
            engine.dispose()
