"""The hooks of the plugin's web UI, reports and widgets (wired into :mod:`plugins.pools.plugin` by import).

Wiring only: pages in :mod:`.pages` (the reports' JSON routes, :func:`.report_pages.routes`, join the API's in ``register_routes``), widgets in :mod:`.widgets`,
the record page's ownership entries in :mod:`.history`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import hookimpl

from . import history
from .pages import MENU_SECTIONS, menu_items, pages
from .widgets import dashboard_widgets

if TYPE_CHECKING:
    import sqlalchemy as sa
    from starlette.routing import BaseRoute

    from kernel import Actor, Site, Widget


@hookimpl
def register_pages() -> list[BaseRoute]:
    return pages()


@hookimpl
def register_menu_items() -> list[dict[str, Any]]:
    return menu_items()


@hookimpl
def register_menu_sections() -> list[dict[str, Any]]:
    return MENU_SECTIONS


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def register_dashboard_widgets() -> list[Widget]:
    return dashboard_widgets()


@hookimpl
def record_activity(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, limit: int) -> list[dict[str, Any]] | None:
    return history.activity_entries(site, actor, entity, record_id, limit)
