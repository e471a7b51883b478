"""The ``leads`` plugin: leads (线索) waiting in lead pools (线索池) of the ``pools`` engine, routed,
assigned, recycled, followed up and converted into customers.

Wiring only: every hook hands over to the module that holds the rule.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import concerned_with, hookimpl
from plugins.pools import PoolKind, entity_actions, masks, timers

from . import activity, dedupe, hookspecs, lifecycle, routing
from .conversion import CONVERTING
from .demo import seed_leads
from .entities import MENU_SECTIONS, entities, menu_items, permissions
from .kind import KIND, closed_ids
from .models import LeadPool
from .options import option_lists
from .pages import pages
from .visibility import pools_filter

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Actor, Entity, Mask, OptionList, Site, Timer

NAME = "leads"
LABEL = {"en": "Leads", "zh_CN": "线索"}
DESCRIPTION = {
    "en": "Leads in lead pools: routed, assigned or claimed, recycled when not followed up, and converted into customers.",
    "zh_CN": "线索与线索池：自动分配或领取，未跟进自动回收，转化为客户。",
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
def register_option_lists() -> list[OptionList]:
    return option_lists()


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
    return masks(KIND, LeadPool)


@hookimpl
def register_timers() -> list[Timer]:
    return timers(KIND)


@hookimpl
def record_filter(actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    return pools_filter(actor, table) if entity == "lead_pools" else None


@hookimpl
def register_record_rule_descriptions() -> list[dict[str, Any]]:
    return [{"entity": "lead_pools", "combine": "and", "label": {
        "en": "Users see only the lead pools they are members or admins of (site admins: all)",
        "zh_CN": "用户只能看到自己是成员或管理员的线索池（系统管理员可看全部）"}}]


@hookimpl
def before_create(site: Site, conn: sa.Connection, entity: str, values: dict[str, Any]) -> None:
    if entity == "leads":
        lifecycle.on_create(values)
        routing.route(conn, values)
        dedupe.store_keys(site, values)


@hookimpl
@concerned_with(lambda site, entity, fields: entity == "leads")
def before_update(site: Site, conn: sa.Connection, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "leads":
        lifecycle.guard_links(changes, CONVERTING.get())
        lifecycle.follow_owner(record, changes)
        dedupe.store_keys(site, changes, record)


@hookimpl
@concerned_with(lambda site, entity, fields: entity == "leads")
def before_update_many(site: Site, entity: str, records: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    if entity == "leads":
        for record, change in zip(records, changes):
            lifecycle.guard_links(change, CONVERTING.get())
            lifecycle.follow_owner(record, change)
            dedupe.store_keys(site, change, record)


@hookimpl
def before_transition(entity: str, record: dict[str, Any], to_state: str) -> None:
    if entity == "leads":
        lifecycle.check_transition(record, to_state)


@hookimpl
def after_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    if entity == "lead_pools":
        routing.one_default(site, conn, actor, record)


@hookimpl
@concerned_with(lambda site, entity, fields: entity == "lead_pools" and bool(fields & {"is_default", "routing_rules"}))
def after_update(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "lead_pools" and ("is_default" in changes or "routing_rules" in changes):
        routing.one_default(site, conn, actor, record)


@hookimpl
def find_duplicates(site: Site, conn: sa.Connection, entity: str, rows: list[dict[str, Any]]) -> list[list[tuple[str, int]]] | None:
    return dedupe.lookalikes(site, conn, rows) if entity == "leads" else None


@hookimpl
def customers_followed_up(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, at: datetime) -> None:
    if entity == "leads":
        activity.followed_up(site, conn, actor, record_id, at)


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
def register_menu_sections() -> list[dict[str, Any]]:
    return MENU_SECTIONS


@hookimpl
def after_demo_seeded(site: Site, actor: Actor) -> None:
    seed_leads(site, actor)


# ---- scoring, capture and reports (scoring.py, capture.py, reports.py) register below this line ----

from datetime import timedelta  # noqa: E402

from kernel import Job  # noqa: E402

from . import capture, capture_cli, capture_pages, report_pages, scoring, scoring_pages, widgets  # noqa: E402
from .intake import intake_menu_items, intake_permissions  # noqa: E402

if TYPE_CHECKING:
    import click
    from starlette.routing import BaseRoute

    from kernel import Widget


@hookimpl(specname="register_permissions")
def register_intake_permissions() -> list[dict[str, Any]]:
    return intake_permissions()


@hookimpl(specname="register_jobs")
def register_scoring_jobs() -> list[Job]:
    return [Job("leads.rescore", timedelta(days=1), scoring.rescore_job, {"en": "Rescore leads", "zh_CN": "线索重新评分"})]


@hookimpl(specname="register_routes")
def register_intake_routes() -> list[BaseRoute]:
    return [*scoring_pages.routes(), *capture_pages.routes(), *report_pages.routes()]


@hookimpl(specname="register_pages")
def register_intake_pages() -> list[BaseRoute]:
    return [*scoring_pages.pages(), *capture_pages.pages(), *report_pages.pages()]


@hookimpl(specname="register_menu_items")
def register_intake_menu_items() -> list[dict[str, Any]]:
    return intake_menu_items()


@hookimpl(specname="register_dashboard_widgets")
def register_intake_widgets() -> list[Widget]:
    return widgets.dashboard_widgets()


@hookimpl(specname="register_commands")
def register_intake_commands(cli: click.Group) -> None:
    cli.add_command(capture_cli.leads_group)


@hookimpl(specname="before_create", tryfirst=True)
def capture_before_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, values: dict[str, Any]) -> None:
    if entity == "leads":
        capture.prepare(site, conn, actor, values)


@hookimpl(specname="before_create", trylast=True)
def score_before_create(site: Site, conn: sa.Connection, entity: str, values: dict[str, Any]) -> None:
    if entity == "leads":
        scoring.score_new(site, conn, values)


@hookimpl(specname="after_create")
def capture_after_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    if entity == "leads":
        capture.record_capture(site, conn, actor, record)


@hookimpl(specname="before_update", trylast=True)
def score_before_update(site: Site, conn: sa.Connection, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "leads":
        scoring.score_changes(site, conn, record, changes)


@hookimpl(specname="before_update_many", trylast=True)
def score_before_update_many(site: Site, conn: sa.Connection, entity: str, records: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    if entity == "leads":
        scoring.score_batch(site, conn, records, changes)
