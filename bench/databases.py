"""Fresh, throw-away databases for one bench run."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

POSTGRES_ENV = "CRM_BENCH_DATABASE_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """A URL to an empty database: a SQLite file in a temporary directory, or a new PostgreSQL schema."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    base = os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES_URL
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
