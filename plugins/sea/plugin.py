"""The ``sea`` plugin: the public sea (公海), customers waiting in seas of the ``pools`` engine.

Wiring only: every hook hands over to the module that holds the rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import hookimpl
from plugins.pools import PoolKind, entity_actions, timers

from . import customers_closed, hookspecs
from .demo import seed_seas
from .entering import default_sea, routes
from .entities import entities, menu_items, permissions
from .pages import pages
from .kind import KIND, closed_ids, sea_masks
from .visibility import seas_filter

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Actor, Entity, Mask, Site, Timer

NAME = "sea"
LABEL = {"en": "Public sea", "zh_CN": "公海"}
DESCRIPTION = {
    "en": "The public sea: customers that reps claim, keep while they follow up or sign, and lose back to the sea otherwise.",
    "zh_CN": "公海：销售领取客户，跟进或成交才能保有，否则自动回收到公海。",
}
REQUIRES: tuple[str, ...] = ("customers", "pools")
HOOKSPECS = hookspecs
SETTINGS_FILE = Path(__file__).parent / "schemas" / "settings.json"


@hookimpl
def register_settings_schema() -> dict[str, Any]:
    return json.loads(SETTINGS_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@hookimpl
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def register_entities() -> list[Entity]:
    return entities()


@hookimpl
def register_permissions() -> list[dict[str, Any]]:
    return permissions()


@hookimpl
def pools_register_kinds() -> list[PoolKind]:
    return [KIND]


@hookimpl
def pools_closed_ids(site: Site, conn: sa.Connection, entity: str, ids: list[int]) -> list[int] | None:
    return closed_ids(site, conn, entity, ids)


@hookimpl
def register_entity_actions() -> dict[str, Any]:
    return entity_actions(KIND)


@hookimpl
def register_masks() -> list[Mask]:
    return sea_masks()


@hookimpl
def register_timers() -> list[Timer]:
    return timers(KIND)


@hookimpl
def record_filter(actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    return seas_filter(actor, table) if entity == "seas" else None


@hookimpl
def register_record_rule_descriptions() -> list[dict[str, Any]]:
    return [{"entity": "seas", "combine": "and", "label": {
        "en": "Users see only the public seas they are members or admins of (site admins: all)",
        "zh_CN": "用户只能看到自己是成员或管理员的公海（系统管理员可看全部）"}}]


@hookimpl
def before_create(site: Site, conn: sa.Connection, entity: str, values: dict[str, Any]) -> None:
    if entity == "customers":
        default_sea(site, conn, values)


@hookimpl
def register_routes() -> list[Any]:
    return routes()


@hookimpl
def register_pages() -> list[Any]:
    return pages()


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def register_menu_items() -> list[dict[str, Any]]:
    return menu_items()


@hookimpl
def after_demo_seeded(site: Site, actor: Actor) -> None:
    seed_seas(site, actor)


@hookimpl(optionalhook=True)
def pipeline_outcome_changed(site: Site, conn: sa.Connection, opportunity: dict[str, Any], outcome: str) -> None:
    """A won deal (plugin ``pipeline``, when enabled) closes its customer at once."""
    if outcome == "won" and opportunity.get("customer_id") is not None:
        customers_closed(site, conn, [opportunity["customer_id"]])
