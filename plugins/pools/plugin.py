"""The ``pools`` plugin: one ownership engine (pools, claims, limits, returns, cooldowns) for any entity.

Wiring only: every hook hands over to the module that holds the rule.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Job, concerned_with, hookimpl

from . import hookspecs, sync
from .api import routes
from .options import option_lists
from .report_pages import routes as report_routes
from .returns import reconcile_job
from .ui_hooks import (  # noqa: F401 - the web UI's hooks (pages, menu, widgets, record activity)
    record_activity, register_dashboard_widgets, register_menu_items, register_menu_sections, register_pages, register_template_dirs,
)
from .validation import check_pool

if TYPE_CHECKING:
    from kernel import Actor, OptionList, Site

NAME = "pools"
LABEL = {"en": "Pools", "zh_CN": "公共池"}
DESCRIPTION = {
    "en": "The ownership engine behind lead pools and the public sea: claims, limits, returns, cooldowns.",
    "zh_CN": "线索池与公海背后的归属引擎：领取、上限、回收、冷却期。",
}
REQUIRES: tuple[str, ...] = ()
HOOKSPECS = hookspecs


@hookimpl
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def register_option_lists() -> list[OptionList]:
    return option_lists()


@hookimpl
def register_jobs() -> list[Job]:
    return [Job("pools.reconcile", timedelta(days=1), reconcile_job, {"en": "Reconcile pool holdings", "zh_CN": "核对公共池持有数"})]


@hookimpl
def register_routes() -> list[Any]:
    return [*routes(), *report_routes()]


@hookimpl
def record_rules(site: Site, actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    return sync.visible(site, actor, entity, table)


@hookimpl
def before_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, values: dict[str, Any]) -> None:
    check_pool(site, entity, values)


@hookimpl
@concerned_with(sync.checks_pool)
def before_update(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    check_pool(site, entity, {**record, **changes})


@hookimpl
def after_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    sync.after_create(site, conn, entity, [record])


@hookimpl
@concerned_with(sync.follows)
def after_update(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    sync.after_update(site, conn, entity, [record], [changes])


@hookimpl
@concerned_with(sync.follows)
def after_update_many(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    sync.after_update(site, conn, entity, records, changes)


@hookimpl
def after_delete_many(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]]) -> None:
    sync.after_delete(site, conn, entity, records)


@hookimpl
def after_restore(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]]) -> None:
    sync.after_create(site, conn, entity, records)
