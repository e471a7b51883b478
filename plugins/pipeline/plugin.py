"""The ``pipeline`` plugin: opportunities (商机) moving through the stages of admin-edited pipelines.

Wiring only: every hook hands over to the module that holds the rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datetime import timedelta

from kernel import Job, concerned_with, hookimpl

from . import conversion, demo, hookspecs, opportunities, pages, pipelines, rotting, timeline
from .entities import LOST_REASONS, MENU_SECTIONS, entities, menu_items, permissions

if TYPE_CHECKING:
    from datetime import datetime

    import sqlalchemy as sa

    from kernel import Actor, Entity, OptionList, Site

NAME = "pipeline"
LABEL = {"en": "Opportunities", "zh_CN": "商机"}
DESCRIPTION = {
    "en": "Opportunities moving through the stages of admin-edited sales pipelines, with a board and rotting deals.",
    "zh_CN": "商机按管理员设置的销售流程逐阶段推进，含商机看板与停滞商机提醒。",
}
REQUIRES: tuple[str, ...] = ("customers",)
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
def register_option_lists() -> list[OptionList]:
    return [LOST_REASONS]


@hookimpl
def register_menu_items() -> list[dict[str, Any]]:
    return menu_items()


@hookimpl
def register_menu_sections() -> list[dict[str, Any]]:
    return MENU_SECTIONS


@hookimpl
def register_pages() -> list[Any]:
    return pages.pages()


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def register_jobs() -> list[Job]:
    return [Job(rotting.JOB, timedelta(days=1), rotting.remind_rotting, {"en": "Remind owners of rotting opportunities", "zh_CN": "提醒负责人停滞商机"})]


@hookimpl
def before_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, values: dict[str, Any]) -> None:
    if entity == "opportunities":
        opportunities.before_create(site, conn, actor, values)


@hookimpl
@concerned_with(lambda site, entity, fields: entity == "opportunities")
def before_update(site: Site, conn: sa.Connection, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "opportunities":
        opportunities.before_update(site, conn, record, changes)


@hookimpl
def before_transition(site: Site, conn: sa.Connection, entity: str, record: dict[str, Any], from_state: str | None, to_state: str) -> None:
    if entity == "opportunities":
        opportunities.before_transition(site, conn, record, from_state, to_state)


@hookimpl
def record_transition(site: Site, conn: sa.Connection, actor: Actor, entity: str, event: dict[str, Any]) -> None:
    if entity == "opportunities":
        opportunities.record_transition(site, conn, actor, event)


@hookimpl
def customers_followed_up(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, at: datetime) -> None:
    if entity == "opportunities":
        opportunities.followed_up(site, conn, actor, record_id, at)


@hookimpl
def after_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    if entity == "pipelines":
        pipelines.after_create(site, conn, actor, record)


@hookimpl
@concerned_with(lambda site, entity, fields: entity == "pipelines")
def after_update(conn: sa.Connection, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "pipelines":
        pipelines.after_update(conn, record, changes)


@hookimpl
def before_delete(conn: sa.Connection, entity: str, record: dict[str, Any]) -> None:
    if entity == "pipelines":
        pipelines.before_delete(conn, record)


@hookimpl(optionalhook=True)
def sea_customer_closed_ids(conn: sa.Connection, ids: list[int]) -> list[int]:
    return opportunities.won_customer_ids(conn, ids)


@hookimpl(optionalhook=True)
def leads_open_opportunity(site: Site, conn: sa.Connection, actor: Actor, lead: dict[str, Any], customer_id: int,
                           contact_id: int | None) -> int | None:
    return conversion.open_opportunity(site, conn, actor, lead, customer_id, contact_id)


@hookimpl
def customers_timeline_entries(site: Site, conn: sa.Connection, actor: Actor, customer_id: int, limit: int) -> list[dict[str, Any]]:
    return timeline.timeline_entries(site, conn, actor, customer_id, limit)


@hookimpl
def customers_related_counts(conn: sa.Connection, customer_id: int) -> dict[str, int]:
    return timeline.related_counts(conn, customer_id)


@hookimpl
def customers_merge_related(conn: sa.Connection, survivor_id: int, merged_id: int) -> dict[str, Any]:
    return timeline.merge_related(conn, survivor_id, merged_id)


@hookimpl
def customers_unmerge_related(conn: sa.Connection, survivor_id: int, merged_id: int, moved: dict[str, Any]) -> None:
    timeline.unmerge_related(conn, survivor_id, merged_id, moved)


@hookimpl
def extra_record_log_forms(entity: str, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    if entity != "opportunities":
        return None
    return [{"entity": "followups", "label": {"en": "Log a follow-up", "zh_CN": "记录跟进"}, "fields": ["method", "content", "next_at"],
             "values": {"entity": "opportunities", "record_id": record["id"]}}]


@hookimpl(trylast=True)
def after_demo_seeded(site: Site, actor: Actor) -> None:
    demo.seed_opportunities(site, actor)  # after customers seeded theirs (trylast)


# ---- funnel, forecast and their widgets (funnel.py, forecast.py) register below this line ----


@hookimpl(specname="register_routes")
def register_analysis_routes() -> list[Any]:
    from .analysis_pages import routes as analysis_routes
    from .stage_api import routes as stage_routes

    return [*analysis_routes(), *stage_routes()]


@hookimpl(specname="register_pages")
def register_analysis_pages() -> list[Any]:
    from .analysis_pages import pages as analysis_pages

    return analysis_pages()


@hookimpl(specname="register_menu_items")
def register_analysis_menu_items() -> list[dict[str, Any]]:
    from .analysis_pages import menu_items as analysis_menu

    return analysis_menu()


@hookimpl(specname="register_dashboard_widgets")
def register_analysis_widgets() -> list[Any]:
    from .widgets import dashboard_widgets

    return dashboard_widgets()
