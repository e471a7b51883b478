"""The ``customers`` plugin: customers (客户), contacts (联系人), follow-ups (跟进记录) and tasks (任务).

Wiring only: every hook hands over to the module that holds the rule.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Job, concerned_with, hookimpl

from . import activity_rules, contact_rules, customer_rules, hookspecs
from .api import routes
from .churn import flag_churn
from .dedupe import TABLES as DEDUPED, lookalikes
from .demo import seed_customers
from .entities import MENU_SECTIONS, entities, log_forms, permissions
from .options import option_lists
from .settings import settings_of, settings_schema
from .pages import menu_items, pages
from .synonyms import import_synonyms, natural_keys
from .tasks import send_reminders
from .timeline import activity_entries
from .widgets import dashboard_widgets

if TYPE_CHECKING:
    from kernel import Actor, Entity, OptionList, Site, Widget

NAME = "customers"
LABEL = {"en": "Customers", "zh_CN": "客户管理"}
DESCRIPTION = {
    "en": "Customers, contacts, follow-ups and tasks, with duplicate checks, merging, churn warnings and My day.",
    "zh_CN": "客户、联系人、跟进记录和任务，含查重、合并、流失预警和“我的一天”。",
}
REQUIRES: tuple[str, ...] = ()
HOOKSPECS = hookspecs

@hookimpl
def register_settings_schema() -> dict[str, Any]:
    return settings_schema()


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
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def register_jobs() -> list[Job]:
    return [
        Job("customers.send_reminders", timedelta(minutes=1), send_reminders, {"en": "Send task reminders", "zh_CN": "发送任务提醒"}),
        Job("customers.flag_churn", timedelta(days=1), flag_churn, {"en": "Flag churn risks", "zh_CN": "流失预警"}),
    ]


@hookimpl
def register_dashboard_widgets() -> list[Widget]:
    return dashboard_widgets()


@hookimpl
def register_import_synonyms() -> dict[str, dict[str, list[str]]]:
    return import_synonyms()


@hookimpl
def register_natural_keys() -> dict[str, list[str]]:
    return natural_keys()


@hookimpl
def register_routes() -> list[Any]:
    return routes()


@hookimpl
def register_pages() -> list[Any]:
    return pages()


@hookimpl
def register_menu_items() -> list[dict[str, Any]]:
    return menu_items()


@hookimpl
def register_menu_sections() -> list[dict[str, Any]]:
    return MENU_SECTIONS


@hookimpl
def extra_record_log_forms(entity: str, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    return log_forms(entity, record)


@hookimpl
def register_template_dirs() -> list[str]:
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def record_activity(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, limit: int) -> list[dict[str, Any]]:
    return activity_entries(site, conn, actor, entity, record_id, limit)


@hookimpl
def register_record_rule_descriptions() -> list[dict[str, Any]]:
    return customer_rules.descriptions()


@hookimpl
def find_duplicates(site: Site, conn: sa.Connection, entity: str, rows: list[dict[str, Any]]) -> list[list[tuple[str, int]]] | None:
    if entity not in DEDUPED or not settings_of(site).dedupe:
        return None
    return lookalikes(site, conn, entity, rows)


@hookimpl
def record_rules(actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """A customer shared with the actor or their team is visible (its contacts, follow-ups and tasks
    follow through their declared parent)."""
    if actor.user_id is None or entity != "customers":
        return None
    return table.c.id.in_(customer_rules.shared_with(actor))


@hookimpl
@concerned_with(customer_rules.prepares_create)
def before_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, values: dict[str, Any]) -> None:
    if entity == "customers":
        customer_rules.prepare_create(site, conn, actor, values)
    elif entity == "contacts":
        contact_rules.prepare_create(site, conn, actor, values)
    elif entity == "followups":
        activity_rules.prepare_followup(site, conn, actor, values)
    elif entity == "tasks":
        activity_rules.prepare_task(site, conn, actor, values)


@hookimpl
@concerned_with(customer_rules.follows_create)
def after_create(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> None:
    if entity == "customers":
        customer_rules.sync_shares(conn, record, new=True)
    elif entity == "contacts":
        contact_rules.after_write(site, conn, actor, record, None)
    elif entity == "followups":
        activity_rules.record_followed_up(site, conn, actor, record)


@hookimpl
@concerned_with(customer_rules.prepares_update)
def before_update(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "customers":
        customer_rules.prepare_update(site, conn, actor, record, changes)
    elif entity == "contacts":
        contact_rules.prepare_update(site, conn, actor, record, changes)
    elif entity == "followups":
        activity_rules.prepare_followup_update(site, conn, actor, record, changes)
    elif entity == "tasks":
        activity_rules.prepare_task_update(site, conn, actor, record, changes)


@hookimpl
@concerned_with(customer_rules.follows_update)
def after_update(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], changes: dict[str, tuple[Any, Any]]
) -> None:
    if entity == "customers" and ("shared_user_ids" in changes or "shared_team_ids" in changes):
        customer_rules.sync_shares(conn, record)
    elif entity == "contacts":
        previous = {**record, **{name: old for name, (old, _new) in changes.items()}}
        contact_rules.after_write(site, conn, actor, record, previous)
    elif entity == "followups" and "followed_at" in changes:
        activity_rules.record_followed_up(site, conn, actor, record)


@hookimpl
def after_delete_many(site: Site, conn: sa.Connection, actor: Actor, entity: str, records: list[dict[str, Any]]) -> None:
    """A customer that lost its primary contact (and is still there) gets its oldest one as primary."""
    if entity == "contacts":
        contact_rules.promote_after_delete(site, conn, actor, [r["customer_id"] for r in records if r["is_primary"]])


@hookimpl
def after_restore(conn: sa.Connection, entity: str, records: list[dict[str, Any]]) -> None:
    """A customer back from the recycle bin is shared again as it was (its contacts, follow-ups and
    tasks come back with it, as they were)."""
    if entity == "customers":
        for record in records:
            customer_rules.sync_shares(conn, record)


@hookimpl
def after_demo_seeded(site: Site, actor: Actor) -> None:
    seed_customers(site, actor)
