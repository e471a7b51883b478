"""Fresh, throw-away databases for one bench run, and the command line that picks them."""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
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


def bench_arguments(doc: str, *, db: str = "sqlite", rows: int, runs: int | None = None, rows_help: str | None = None) -> argparse.ArgumentParser:
    """A scenario's command line: ``--db``, ``--rows``, ``--runs`` (when ``runs`` is given) and
    ``--database-url``; the scenario may add its own arguments before :func:`on_each_database`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default=db)
    parser.add_argument("--rows", type=int, default=rows, help=rows_help)
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--database-url", help=f"PostgreSQL to make a throw-away schema in (default ${POSTGRES_ENV} or {DEFAULT_POSTGRES_URL})")
    return parser


def on_each_database(parser: argparse.ArgumentParser, measure: Callable[[str, str, argparse.Namespace], None]) -> None:
    """Parse the command line, then ``measure(kind, url, args)`` on a fresh database of each kind ``--db`` names."""
    args = parser.parse_args()
    if args.database_url:
        os.environ[POSTGRES_ENV] = args.database_url
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        with fresh_database(kind) as url:
            measure(kind, url, args)
