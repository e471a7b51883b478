"""Pytest fixtures for the kernel's and every plugin's tests.

Enable with ``pytest_plugins = ["kernel.testing"]`` in a ``conftest.py``.

* ``database_url``: a fresh empty database per test: a SQLite file, or, when
  ``CRM_TEST_DATABASE_URL`` is set, a new PostgreSQL schema that is dropped after.
* ``make_site(*plugins, **settings)``: a migrated :class:`~kernel.Site` on that
  database with a :class:`~kernel.FrozenClock`, cheap password hashing and
  ``refresh_seconds=0``; ``plugins`` are plugin modules not installed as entry points.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from . import migrations
from .clock import FrozenClock
from .passwords import cheap_hasher
from .settings import Settings
from .site import Site

TEST_DATABASE_ENV = "CRM_TEST_DATABASE_URL"
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def postgres_url() -> str | None:
    return os.environ.get(TEST_DATABASE_ENV) or None


@pytest.fixture
def database_url(tmp_path: Any) -> Iterator[str]:
    base = postgres_url()
    if base is None:
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def make_site(database_url: str, clock: FrozenClock) -> Iterator[Callable[..., Site]]:
    sites: list[Site] = []

    def build(*plugins: Any, migrate: bool = True, **settings: Any) -> Site:
        settings.setdefault("plugins", tuple(p.NAME for p in plugins))
        settings.setdefault("refresh_seconds", 0)
        site = Site(Settings(database_url=database_url, **settings), clock=clock, extra_plugins=plugins)
        site.passwords = cheap_hasher()
        if migrate:
            migrations.upgrade(site)
        sites.append(site)
        return site

    yield build
    for site in sites:
        site.close()
