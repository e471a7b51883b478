"""Pytest fixtures for the kernel's and every plugin's tests.

Enable with ``pytest_plugins = ["kernel.testing"]`` in a ``conftest.py``.

* ``database_url``: a fresh empty database per test: a SQLite file, or, when
  ``CRM_TEST_DATABASE_URL`` is set, a new PostgreSQL schema that is dropped (or reset for reuse) after.
* ``make_site(*plugins, **settings)``: a migrated :class:`~kernel.Site` on that
  database with a :class:`~kernel.FrozenClock`, cheap password hashing and
  ``refresh_seconds=0``; ``plugins`` are plugin modules not installed as entry points.
  A test's first site is not migrated anew when an earlier test of the process migrated the same one: on SQLite it is
  a copy of a template, on PostgreSQL a schema an earlier test used, reset (:mod:`kernel.testdatabases`).
* ``clock``: that :class:`~kernel.FrozenClock`, starting at :data:`START`; move it with ``clock.advance(...)``.
* ``people``: :func:`make_people` on the suite's ``site`` (five users in two teams, by key: ``admin``,
  ``manager``, ``rep``, ``rep2``, ``outsider``).
* ``http``: ``http(actor)`` → an :class:`ApiClient` sending that user's bearer token (:func:`api_clients`);
  ``browse``: ``browse(actor_or_email, locale=None)`` → a :class:`PageSession` ``(client, csrf_token)``,
  a ``TestClient`` signed in through the login form (:func:`page_clients`). Both serve the suite's ``site``.
* browser tests: ``browser``, ``live_server`` and ``shots``, :func:`new_page` (a page keeping its script
  errors in ``page.errors``), :func:`sign_in` (a page through the login form), :func:`follow_menu_link`,
  :func:`assert_no_sideways_scroll` and :data:`PHONE` (see :mod:`kernel.browsertesting`; the suite defines ``live_site``, the site to
  serve); :func:`free_port`; :func:`serve` (a site's app served by uvicorn in a thread:
  ``with serve(site) as base_url``, several for several workers).
* translations: :func:`translation_gaps` (each marked message of a plugin translated, with the same
  placeholders), :func:`read_catalog`; pages: :func:`text_of` (a page's text).

A plugin's tests import from here, not from the kernel's private modules, what they
drive the site with: :func:`create_app` and :func:`issue_token` (the HTTP API as a user),
:func:`run_due_jobs` (run the jobs due now), :func:`run_due_tasks` (run the queued background tasks due now),
:func:`fire_due_timers` (fire the per-record
timers due now: ``fire_due_timers(site)``, as of the site clock), :func:`list_notifications`,
:func:`record_activity` (a record's Activity tab), :func:`seed_demo`,
:func:`registered_permissions`, :class:`MailSettings` (a ``[mail]`` table), and
:data:`KERNEL_LOCALE_DIR` / :func:`catalog_path` (the kernel's translation catalog).
"""

from __future__ import annotations

import atexit
import os
import types
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import pytest

from . import migrations, permissions
from .activity import record_activity
from .browsertesting import (
    PHONE, assert_no_sideways_scroll, browser, follow_menu_link, free_port, live_server, new_page, serve, shots, sign_in,
)
from .clock import FrozenClock
from .demo import seed_demo
from .hookspecs import hookimpl
from .i18n import KERNEL_LOCALE_DIR, catalog_path
from .jobs import run_due_jobs
from .notifications import list_notifications
from .pagescan import Finding, scan_pages
from .passwords import cheap_hasher
from .records import Actor
from .settings import MailSettings, Settings
from .site import Site
from .tasks import run_due_tasks
from .testcatalogs import TranslationGaps, read_catalog, translation_gaps
from .testclients import TEST_PASSWORD, ApiClient, PageSession, api_clients, make_people, page_clients, text_of
from .testdatabases import TestDatabases
from .timers import fire_due as fire_due_timers
from .web.app import create_app
from .web.auth import issue_token

__all__ = [
    "add_custom_field",
    "api_clients",
    "ApiClient",
    "assert_no_sideways_scroll",
    "browse",
    "browser",
    "catalog_path",
    "cli",
    "clock",
    "create_app",
    "database_url",
    "export_records",
    "Finding",
    "fire_due_timers",
    "follow_menu_link",
    "free_port",
    "http",
    "import_rows",
    "ImportTargets",
    "issue_token",
    "KERNEL_LOCALE_DIR",
    "list_notifications",
    "live_server",
    "MailSettings",
    "make_people",
    "make_site",
    "new_page",
    "page_clients",
    "PageSession",
    "people",
    "PHONE",
    "plan_columns",
    "plugin_module",
    "read_catalog",
    "read_sheet",
    "record_activity",
    "registered_permissions",
    "run_due_jobs",
    "run_due_tasks",
    "scan_pages",
    "seed_demo",
    "serve",
    "shots",
    "sign_in",
    "START",
    "TEST_PASSWORD",
    "text_of",
    "translation_gaps",
    "TranslationGaps",
    "upgrade_to",
    "Upsert",
]

TEST_DATABASE_ENV = "CRM_TEST_DATABASE_URL"
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def upgrade_to(site: Site, *targets: str) -> None:
    """Upgrade the site's database to Alembic ``targets`` in order, to test a plugin's migration on
    tables as an older version left them: ``upgrade_to(site, "core@head", "acme@1a2b3c4d5e6f")``,
    then fill rows, then ``upgrade_to(site)`` (every branch to its head) and check them.
    """
    if not targets:
        migrations.upgrade(site)
        return
    from alembic import command

    for target in targets:
        with site.write() as conn:
            command.upgrade(migrations.alembic_config(site, conn), target)


def registered_permissions(site: Site) -> dict[str, Any]:
    """Every permission the site's enabled plugins declare or the kernel derives: name → permission
    (``.roles`` maps each role granted it by default to its record scope)."""
    return dict(permissions.registry(site.view))


def plugin_module(name: str, requires: Sequence[str] = (), **hooks: Callable[..., Any]) -> types.ModuleType:
    """A plugin built in a test: ``NAME``, ``REQUIRES`` and the given hook implementations.

    ``plugin_module("bridge", requires=["notes"], after_create=on_create)``; hand it to ``make_site``.
    """
    module = types.ModuleType(name)
    module.NAME = name  # type: ignore[attr-defined]
    module.REQUIRES = tuple(requires)  # type: ignore[attr-defined]
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def postgres_url() -> str | None:
    """The PostgreSQL URL the tests run on (``CRM_TEST_DATABASE_URL``), or ``None`` for SQLite."""
    return os.environ.get(TEST_DATABASE_ENV) or None


_databases: TestDatabases | None = None


def testing_databases() -> TestDatabases:
    """The test process's :class:`~kernel.testdatabases.TestDatabases` (its templates removed at exit).

    A plain function, not a fixture, so that a plugin's ``conftest.py`` that imports only
    ``make_site`` and ``database_url`` gets it too.
    """
    global _databases
    if _databases is None:
        _databases = TestDatabases(postgres_url())
        atexit.register(_databases.close)
    return _databases


@pytest.fixture
def database_url(tmp_path: Any) -> Iterator[str]:
    """A fresh empty database for one test (a SQLite file, or a PostgreSQL schema dropped after)."""
    url = testing_databases().fresh(tmp_path)
    try:
        yield url
    finally:
        testing_databases().drop(url)


@pytest.fixture
def clock() -> FrozenClock:
    """The tests' clock, frozen at :data:`START` until a test moves it."""
    return FrozenClock(START)


@pytest.fixture
def make_site(database_url: str, clock: FrozenClock) -> Iterator[Callable[..., Site]]:
    """``make_site(*plugin_modules, migrate=True, **settings)`` → a migrated site on the test's database.

    The first migrated site of a test on its still-empty database reuses the migration of an earlier
    test of the process with the same plugins, settings and clock time (a copied SQLite template, a
    reset PostgreSQL schema: see :mod:`kernel.testdatabases`); any later one is migrated in place.
    """
    sites: list[Site] = []

    def new_site(url: str, plugins: Sequence[Any], settings: dict[str, Any]) -> Site:
        site = Site(Settings(database_url=url, **settings), clock=clock, extra_plugins=plugins)
        site.passwords = cheap_hasher()
        return site

    def migrate_template(plugins: Sequence[Any], settings: dict[str, Any]) -> Callable[[str], None]:
        def migrate(url: str) -> None:
            template = new_site(url, plugins, settings)
            try:
                migrations.upgrade(template)
            finally:
                template.close()

        return migrate

    def build(*plugins: Any, migrate: bool = True, **settings: Any) -> Site:
        settings.setdefault("plugins", tuple(p.NAME for p in plugins))
        settings.setdefault("refresh_seconds", 0)
        databases = testing_databases()
        if migrate and not sites and databases.is_empty(database_url):
            key = (tuple(id(p) for p in plugins), repr(sorted(settings.items())), clock.now())
            databases.copy_migrated(key, plugins, database_url, migrate_template(plugins, settings))
            migrate = False
        site = new_site(database_url, plugins, settings)
        if migrate:
            migrations.upgrade(site)
        sites.append(site)
        return site

    yield build
    for site in sites:
        site.close()


@pytest.fixture
def people(site: Site) -> dict[str, Actor]:
    """:func:`make_people` on the suite's ``site``: ``admin``, ``manager`` of team North with ``rep`` and
    ``rep2``, ``outsider`` of team South."""
    return make_people(site)


@pytest.fixture
def http(site: Site) -> Callable[[Actor], ApiClient]:
    """``http(actor)``: an :class:`ApiClient` acting as ``actor``'s user on the suite's ``site``."""
    return api_clients(site)


@pytest.fixture
def browse(site: Site) -> Callable[..., PageSession]:
    """``client, csrf_token = browse(actor_or_email, locale=None)``: signed in through the login form on
    the suite's ``site`` (see :func:`page_clients`)."""
    return page_clients(site)


# -- the import, export and field services a plugin's tests drive directly ------------------------

from .exporting import export_records  # noqa: E402 - re-exported for plugins' tests
from .fielddefs import add_field as add_custom_field  # noqa: E402
from .importing import Targets as ImportTargets, import_rows, plan_columns, read_sheet  # noqa: E402
from .importupserts import Upsert  # noqa: E402


def cli() -> Any:
    """The ``crm`` command with a cheap password hasher, for ``click.testing.CliRunner().invoke(cli(), args)``."""
    from .cli import make_cli
    from .passwords import cheap_hasher

    return make_cli(password_hasher=cheap_hasher())
