"""Every hook a plugin can implement, one documented stub each.

Registration hooks return data and change nothing. Record hooks receive the
entity name and must filter on it themselves; there is no wildcard entity.
Hook arguments are passed by keyword, so an implementation may accept only the
arguments it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    import sqlalchemy as sa
    from starlette.routing import BaseRoute

    from .dashboards import Widget
    from .entities import Entity
    from .jobs import Job
    from .records import Actor
    from .site import Site

hookspec = pluggy.HookspecMarker("crm")
hookimpl = pluggy.HookimplMarker("crm")


# -- registration -----------------------------------------------------------


@hookspec
def register_settings_schema() -> dict[str, Any] | None:
    """Return the JSON Schema that validates this plugin's ``[plugins.NAME]`` table in ``crm.toml``.

    Unknown keys should be refused (``"additionalProperties": false``); defaults
    given in the schema are filled in.
    """


@hookspec
def register_entities() -> list[Entity] | None:
    """Return the :class:`~kernel.entities.Entity` definitions this plugin owns."""


@hookspec
def register_migrations() -> str | None:
    """Return the directory of this plugin's Alembic versions (branch label = plugin name)."""


@hookspec
def register_jobs() -> list[Job] | None:
    """Return the periodic :class:`~kernel.jobs.Job` objects this plugin runs (named ``plugin.job``)."""


@hookspec
def register_dashboard_widgets() -> list[Widget] | None:
    """Return the :class:`~kernel.dashboards.Widget` objects this plugin adds to dashboards."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``crm`` command line with ``cli.add_command(...)``."""


@hookspec
def register_routes() -> list[BaseRoute] | None:
    """Return Starlette routes served under ``/api/v1/plugins/NAME`` while this plugin is enabled.

    ``Route("/stats", stats)`` of plugin ``leads`` answers ``GET /api/v1/plugins/leads/stats``.
    Every request is authenticated before it reaches a route: ``request.state.actor``
    holds the :class:`~kernel.records.Actor` and ``request.app.state.site`` the site.
    Raise :class:`~kernel.errors.RecordError` subclasses for refusals; they become the
    API's error envelope. A disabled plugin's routes answer 404 at once.
    """


# -- records: extra checks ---------------------------------------------------------


@hookspec
def find_duplicates(site: Site, conn: sa.Connection, entity: str, values: dict[str, Any]) -> list[int] | None:
    """Return the ids of existing ``entity`` records that look like the record just created, or ``None``.

    Called by ``POST /api/v1/E`` inside the create's transaction, after the insert:
    ``values`` is the new record as stored (with its ``id``, which is never reported
    as its own duplicate). Ids found by any plugin answer 201 with
    ``"warnings": [{"code": "duplicate", "ids": [...]}]``, or 409 (and no record)
    when the caller sent ``?on_duplicate=refuse``.
    """


# -- authorization --------------------------------------------------------------


@hookspec
def authorize(actor: Actor, entity: str, action: str, record: dict[str, Any] | None) -> bool | None:
    """Say whether ``actor`` may perform ``action`` (``create``, ``read``, ``update``, ``delete`` or an
    action name) on ``entity`` (and on ``record`` when there is one).

    Return ``False`` to refuse, ``True`` to allow, ``None`` for no opinion. Any
    ``False`` refuses the operation.
    """


@hookspec
def record_filter(actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """Return a SQL condition limiting which rows of ``entity`` ``actor`` may see, or ``None``.

    Conditions from all plugins are combined with AND and applied inside the
    query for lists, counts, gets, updates, deletes and actions, so a record
    outside them is simply not found.
    """


# -- record lifecycle ---------------------------------------------------------


@hookspec
def before_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, values: dict[str, Any]) -> None:
    """Called before a record of ``entity`` is inserted; ``values`` may be changed in place.

    Raise :class:`~kernel.errors.Vetoed` to refuse the write with a reason.
    """


@hookspec
def after_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    """Called after a record was inserted, inside the same transaction; raising undoes the write."""


@hookspec
def before_update(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], changes: dict[str, Any]
) -> None:
    """Called before ``record`` is updated with ``changes`` (which may be changed in place).

    Raise :class:`~kernel.errors.Vetoed` to refuse the write with a reason.
    """


@hookspec
def after_update(
    site: Site,
    conn: sa.Connection,
    actor: Actor,
    entity: str,
    record: dict[str, Any],
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """Called after an update, inside the same transaction; ``changes`` maps field to ``(old, new)``."""


@hookspec
def before_delete(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    """Called before ``record`` is deleted. Raise :class:`~kernel.errors.Vetoed` to refuse."""


@hookspec
def after_delete(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    """Called after a delete, inside the same transaction; raising undoes the delete."""


@hookspec
def after_plugin_enabled(site: Site, name: str) -> None:
    """Called once in the process that enabled plugin ``name``, after its migrations ran."""
