"""The tests' databases: a fresh one per test, and migrated ones reused from templates.

Migrating a new site (the kernel's and its plugins' alembic branches) takes most of a
small test's time: about 0.4 s of CPU on SQLite and 1.3–2 s on PostgreSQL for the kernel
and the business plugins. Each test process therefore migrates once per distinct site —
the same plugin modules, settings and clock time — and reuses that work:

- **SQLite** copies a template file migrated once into every later test's empty database.
- **PostgreSQL** keeps the schema a test migrated when the test ends, if its structure is
  still the template's (:data:`_FINGERPRINT`: tables, columns, indexes, constraints,
  triggers, functions): it empties the tables the test wrote to (``DELETE``: truncating
  re-creates every table's files, several times slower for a small test's rows), puts back the rows the
  migration wrote (kept in a ``seed`` schema) and every sequence's position, and parks the
  schema under a pool name; the next test that asks for the same site gets it renamed to
  its own schema. A schema whose structure changed, or that cannot be reset, is dropped.
  Copying a database (``CREATE DATABASE … TEMPLATE``) was measured to cost the server
  about as much as the migration it saves, so schemas are recycled instead.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)

#: Parked PostgreSQL schemas kept per test process at the most (the least recently used go).
POOLED = 24

#: One text that changes when a schema's structure does: its relations (tables, indexes, sequences,
#: views) by name and kind, each table's columns with their types, nullability and defaults, its
#: constraints and triggers by name, and its functions' sources. Names only, never the schema's own,
#: so that a renamed schema matches.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, '|' ORDER BY item), '')) FROM (
  SELECT c.relkind::text || ':' || c.relname || '.' || coalesce(a.attname, '') || ':' || coalesce(a.atttypid::text, '') || ':'
         || coalesce(a.atttypmod::text, '') || ':' || coalesce(a.attnotnull::text, '') || ':' || coalesce(a.atthasdef::text, '') AS item
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
  WHERE n.nspname = :schema
  UNION ALL
  SELECT 'k:' || conname || ':' || contype::text FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = :schema
  UNION ALL
  SELECT 't:' || tgname || ':' || c.relname
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = :schema AND NOT t.tgisinternal
  UNION ALL
  SELECT 'f:' || proname || ':' || md5(prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema
) AS items
"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _Template:
    """What a migrated PostgreSQL site looked like: to check a used schema against, and to reset it to."""

    fingerprint: str
    tables: list[str]
    seeded: list[str]  # the tables the migration wrote rows to, copied into ``seed_schema``
    seed_schema: str
    sequences: dict[str, int | None]  # name → last value (None: never called)
    keep: Any
    parked: list[str] = field(default_factory=list)


class TestDatabases:
    """Creates, reuses and drops the test databases of one test process."""

    __test__ = False  # not a test class, whatever pytest's collection thinks of the name

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url  # PostgreSQL server (with a database to connect to), or None for SQLite
        self._folder = Path(tempfile.mkdtemp(prefix="crm-templates-"))
        self._templates: dict[Hashable, tuple[Path, Any]] = {}  # key → (template file, what the key names, kept alive)
        self._schemas: OrderedDict[Hashable, _Template] = OrderedDict()  # PostgreSQL: key → template, least recently used first
        self._in_use: dict[str, Hashable] = {}  # PostgreSQL schema of a running test → the key it was migrated for
        self._admin: sa.Engine | None = None

    # -- one database per test -------------------------------------------------------------

    def fresh(self, folder: Path) -> str:
        """The URL of a new empty database: a SQLite file in ``folder``, or a new PostgreSQL schema."""
        if self.base_url is None:
            return f"sqlite:///{folder / 'crm.db'}"
        schema = f"t_{uuid.uuid4().hex[:12]}"
        self._execute(f"CREATE SCHEMA {_quoted(schema)}")
        return self._url(schema)

    def drop(self, url: str) -> None:
        """The test is over: drop its PostgreSQL schema, or reset and park it for the next test of its site."""
        if self.base_url is None:
            return  # SQLite files go with the test's folder
        schema = self._schema(url)
        key = self._in_use.pop(schema, None)
        if key is not None and key in self._schemas:
            try:
                if self._park(schema, self._schemas[key]):
                    return
            except sa.exc.DBAPIError as exc:
                log.info("test schema %s could not be reset (%s); dropping it", schema, exc.orig)
        self._execute(f"DROP SCHEMA IF EXISTS {_quoted(schema)} CASCADE")

    def is_empty(self, url: str) -> bool:
        """Whether the database at ``url`` has nothing in it yet."""
        if self.base_url is None:
            path = Path(sa.make_url(url).database or "")
            return not path.exists() or path.stat().st_size == 0
        with self._connect() as conn:
            return not conn.scalar(
                sa.text("SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s)"),
                {"s": self._schema(url)},
            )

    # -- templates ---------------------------------------------------------------------------

    def copy_migrated(self, key: Hashable, keep: Any, url: str, migrate: Callable[[str], None]) -> None:
        """Make the empty database at ``url`` a migrated site for ``key``.

        ``migrate(url)`` migrates a database (a SQLite template the first time ``key`` is asked
        for; on PostgreSQL the test's own schema whenever no parked one is ready); ``keep`` is held
        as long as the template lives (the plugin modules whose identity the key names, so that
        no other module can take their ``id``).
        """
        if self.base_url is not None:
            self._reuse_schema(key, keep, url, migrate)
            return
        if key not in self._templates:
            template = self._folder / f"template_{len(self._templates)}.db"
            migrate(f"sqlite:///{template}")
            self._templates[key] = (template, keep)
        template, target = self._templates[key][0], Path(sa.make_url(url).database or "")
        shutil.copyfile(template, target)
        wal = template.with_name(template.name + "-wal")  # a template's site closed cleanly leaves none
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + "-wal"))

    def close(self) -> None:
        """Remove the templates, parked schemas and the admin connection (at the end of the test process)."""
        if self._admin is not None:
            for template in self._schemas.values():
                for schema in [*template.parked, template.seed_schema]:
                    self._execute(f"DROP SCHEMA IF EXISTS {_quoted(schema)} CASCADE")
            self._admin.dispose()
        self._templates.clear()
        self._schemas.clear()
        shutil.rmtree(self._folder, ignore_errors=True)

    # -- PostgreSQL --------------------------------------------------------------------------

    def _reuse_schema(self, key: Hashable, keep: Any, url: str, migrate: Callable[[str], None]) -> None:
        schema = self._schema(url)
        template = self._schemas.get(key)
        if template is not None and template.parked:
            self._schemas.move_to_end(key)
            parked = template.parked.pop()
            self._execute(f"DROP SCHEMA {_quoted(schema)}")
            self._execute(f"ALTER SCHEMA {_quoted(parked)} RENAME TO {_quoted(schema)}")
        else:
            migrate(url)
            if template is None:
                self._schemas[key] = self._remember(schema, keep)
        self._in_use[schema] = key
        self._forget_oldest()

    def _remember(self, schema: str, keep: Any) -> _Template:
        """Take a migrated schema's fingerprint, seed rows and sequence positions."""
        seed = f"seed_{uuid.uuid4().hex[:12]}"
        with self._transaction(schema) as conn:
            tables = list(conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"), {"s": schema}))
            seeded = self._written(conn, schema, tables)
            conn.execute(sa.text(f"CREATE SCHEMA {_quoted(seed)}"))
            for table in seeded:
                conn.execute(sa.text(f"CREATE TABLE {_quoted(seed)}.{_quoted(table)} AS SELECT * FROM {_quoted(schema)}.{_quoted(table)}"))
            sequences = {name: value for name, value in conn.execute(
                sa.text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :s"), {"s": schema})}
            fingerprint = conn.scalar(sa.text(_FINGERPRINT), {"schema": schema})
        return _Template(fingerprint, tables, seeded, seed, sequences, keep)

    def _park(self, schema: str, template: _Template) -> bool:
        """Reset a used schema to its template and park it; False when its structure changed."""
        if len(template.parked) >= 2:
            return False
        with self._transaction(schema) as conn:
            if conn.scalar(sa.text(_FINGERPRINT), {"schema": schema}) != template.fingerprint:
                return False
            # foreign keys unchecked while the tables are emptied and the seed rows go back, in any order
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in sorted(set(self._written(conn, schema, template.tables)) | set(template.seeded)):
                conn.execute(sa.text(f"DELETE FROM {_quoted(schema)}.{_quoted(table)}"))
            for table in template.seeded:
                conn.execute(sa.text(f"INSERT INTO {_quoted(schema)}.{_quoted(table)} SELECT * FROM {_quoted(template.seed_schema)}.{_quoted(table)}"))
            if template.sequences:
                conn.execute(sa.text("SELECT " + ", ".join(
                    f"setval('{_quoted(schema)}.{_quoted(name)}', {value if value is not None else 1}, {'true' if value is not None else 'false'})"
                    for name, value in template.sequences.items()
                )))
            parked = f"p_{uuid.uuid4().hex[:12]}"
            conn.execute(sa.text(f"ALTER SCHEMA {_quoted(schema)} RENAME TO {_quoted(parked)}"))
        template.parked.append(parked)
        return True

    @staticmethod
    def _written(conn: sa.Connection, schema: str, tables: list[str]) -> list[str]:
        """Those of ``tables`` that hold a row, in one query."""
        if not tables:
            return []
        probes = " UNION ALL ".join(
            f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {_quoted(schema)}.{_quoted(t)})" for i, t in enumerate(tables)
        )
        return [tables[i] for i in conn.scalars(sa.text(probes))]

    def _forget_oldest(self) -> None:
        """Drop the least recently used templates' schemas while more than :data:`POOLED` are kept."""
        running = set(self._in_use.values())
        for key in list(self._schemas):
            if sum(1 + len(t.parked) for t in self._schemas.values()) <= POOLED:
                return
            if key in running:
                continue
            template = self._schemas.pop(key)
            for schema in [*template.parked, template.seed_schema]:
                self._execute(f"DROP SCHEMA IF EXISTS {_quoted(schema)} CASCADE")

    def _url(self, schema: str) -> str:
        assert self.base_url is not None
        url = sa.make_url(self.base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    @staticmethod
    def _schema(url: str) -> str:
        return sa.make_url(url).query["options"].removeprefix("-csearch_path=")  # type: ignore[union-attr]

    @contextmanager
    def _transaction(self, schema: str) -> Iterator[sa.Connection]:
        """One transaction on the admin connection with ``schema`` first in the search path."""
        with self._connect() as conn:
            conn.execution_options(isolation_level="READ COMMITTED")
            with conn.begin():
                conn.execute(sa.text(f"SET LOCAL search_path = {_quoted(schema)}, public"))
                conn.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
                yield conn

    def _connect(self) -> sa.Connection:
        if self._admin is None:
            assert self.base_url is not None
            self._admin = sa.create_engine(self.base_url, isolation_level="AUTOCOMMIT", pool_size=1)
        return self._admin.connect()

    def _execute(self, statement: str) -> None:
        with self._connect() as conn:
            conn.execute(sa.text(statement))
