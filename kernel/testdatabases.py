"""The tests' databases: a fresh one per test, and migrated ones copied from templates.

Migrating a new site (the kernel's and its plugins' alembic branches) takes most of a
small test's time: about 0.4 s of CPU on SQLite for the kernel and one business plugin.
Each test process therefore migrates once per distinct site — the same plugin modules,
settings and clock time — into a template file, and gives every later test a copy of it.
A copy is only made into a database nothing has written to yet; any other database is
migrated in place, as before.

PostgreSQL gets a new schema per test, dropped after, and no templates: a database
copied from a template (``CREATE DATABASE … TEMPLATE``) costs the server about as much
CPU as the migration it saves (measured: 0.68 s against 0.72 s for a migrated
business-plugin site), so its tests migrate.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import sqlalchemy as sa


class TestDatabases:
    """Creates, copies and drops the test databases of one test process."""

    __test__ = False  # not a test class, whatever pytest's collection thinks of the name

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url  # PostgreSQL server (with a database to connect to), or None for SQLite
        self._folder = Path(tempfile.mkdtemp(prefix="crm-templates-"))
        self._templates: dict[Hashable, tuple[Path, Any]] = {}  # key → (template file, what the key names, kept alive)
        self._admin: sa.Engine | None = None

    # -- one database per test -------------------------------------------------------------

    @property
    def copies(self) -> bool:
        """Whether migrated sites are copied from templates (SQLite) or migrated each time (PostgreSQL)."""
        return self.base_url is None

    def fresh(self, folder: Path) -> str:
        """The URL of a new empty database: a SQLite file in ``folder``, or a new PostgreSQL schema."""
        if self.base_url is None:
            return f"sqlite:///{folder / 'crm.db'}"
        schema = f"t_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE SCHEMA "{schema}"')
        url = sa.make_url(self.base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a schema :meth:`fresh` made (SQLite files go with the test's folder)."""
        if self.base_url is not None:
            schema = sa.make_url(url).query["options"].removeprefix("-csearch_path=")
            self._execute(f'DROP SCHEMA "{schema}" CASCADE')

    def is_empty(self, url: str) -> bool:
        """Whether the SQLite database at ``url`` has nothing in it yet."""
        path = Path(sa.make_url(url).database or "")
        return not path.exists() or path.stat().st_size == 0

    # -- templates ---------------------------------------------------------------------------

    def copy_migrated(self, key: Hashable, keep: Any, url: str, migrate: Callable[[str], None]) -> None:
        """Make the empty SQLite database at ``url`` a copy of the template for ``key``.

        ``migrate(template_url)`` builds the template the first time ``key`` is asked for;
        ``keep`` is held as long as the template lives (the plugin modules whose identity
        the key names, so that no other module can take their ``id``).
        """
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
        """Remove the templates and the admin connection (at the end of the test process)."""
        if self._admin is not None:
            self._admin.dispose()
        self._templates.clear()
        shutil.rmtree(self._folder, ignore_errors=True)

    # -- PostgreSQL --------------------------------------------------------------------------

    def _execute(self, statement: str) -> None:
        if self._admin is None:
            assert self.base_url is not None
            self._admin = sa.create_engine(self.base_url, isolation_level="AUTOCOMMIT", pool_size=1)
        with self._admin.connect() as conn:
            conn.execute(sa.text(statement))
