"""A customer's 360° timeline: follow-ups, tasks, changes and whatever other plugins add.

Each source returns its newest ``offset + limit + 1`` entries; they are merged
newest first and cut to the page, so every page is exact without counting all
sources. Other plugins contribute through ``customers_timeline_entries``.

The same sources, without the audit changes (the kernel shows those itself),
answer the kernel's ``record_activity`` hook for the detail page's Activity tab:
for a customer, and for any other record follow-ups or tasks were written on
(``entity`` + ``record_id``, a contact say). Only rows the actor may read are listed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import ValidationError, audit_history, jsonable

from .models import Followup, Task

if TYPE_CHECKING:
    from kernel import Actor, Site

FOLLOWUPS = Followup.__table__
TASKS = Task.__table__
MAX_LIMIT = 200
OWN_ENTITIES = ("followups", "tasks")


def customer_timeline(site: Site, actor: Actor, customer_id: int, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """One page of the timeline of a customer ``actor`` may see (404 otherwise), newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.at(["query", "limit"], f"must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationError.at(["query", "offset"], "must be 0 or more")
    wanted = offset + limit + 1
    with site.engine.connect() as conn:
        site.records.get(actor, "customers", customer_id, conn=conn)
        entries = [*activity_entries(site, conn, actor, "customers", customer_id, wanted), *_changes(conn, customer_id, wanted)]
    entries.sort(key=_newest_first, reverse=True)
    page = entries[offset : offset + limit]
    return {
        "items": jsonable(page),
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(entries) > offset + limit else None,
    }


def activity_entries(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` follow-ups, tasks (and, for a customer, other plugins' entries) about one record.

    The record itself is one ``actor`` may see; follow-ups and tasks are limited to those
    ``actor`` may read. Follow-ups and tasks have no timeline of their own here.
    """
    if entity in OWN_ENTITIES:
        return []
    if entity == "customers":
        about_followups = FOLLOWUPS.c.customer_id == record_id
        about_tasks = TASKS.c.customer_id == record_id
    else:
        about_followups = sa.and_(FOLLOWUPS.c.entity == entity, FOLLOWUPS.c.record_id == record_id)
        about_tasks = sa.and_(TASKS.c.entity == entity, TASKS.c.record_id == record_id)
    entries = [
        *_followups(conn, [about_followups, site.records.visible(actor, "followups")], limit),
        *_tasks(conn, [about_tasks, site.records.visible(actor, "tasks")], limit),
    ]
    if entity == "customers":
        for batch in site.view.pm.hook.customers_timeline_entries(site=site, conn=conn, actor=actor, customer_id=record_id, limit=limit):
            entries.extend(_checked(entry) for entry in batch or ())
    entries.sort(key=_newest_first, reverse=True)
    return entries[:limit]


def _newest_first(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["at"], entry["kind"], entry.get("record_id") or 0)


def _followups(conn: sa.Connection, conditions: list[sa.ColumnElement[bool]], wanted: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(FOLLOWUPS)
        .where(*conditions)
        .order_by(FOLLOWUPS.c.followed_at.desc(), FOLLOWUPS.c.id.desc())
        .limit(wanted)
    )
    return [
        {
            "at": row.followed_at,
            "kind": "followup",
            "title": row.content[:200] or row.method,
            "entity": "followups",
            "record_id": row.id,
            "data": {"method": row.method, "owner_id": row.owner_id, "next_at": row.next_at},
        }
        for row in rows
    ]


def _tasks(conn: sa.Connection, conditions: list[sa.ColumnElement[bool]], wanted: int) -> list[dict[str, Any]]:
    newest = TASKS.c.created_at.desc(), TASKS.c.id.desc()
    rows = conn.execute(sa.select(TASKS).where(*conditions).order_by(*newest).limit(wanted))
    return [
        {
            "at": row.created_at,
            "kind": "task",
            "title": row.title,
            "entity": "tasks",
            "record_id": row.id,
            "data": {"status": row.status, "priority": row.priority, "assignee_id": row.assignee_id, "due_at": row.due_at},
        }
        for row in rows
    ]


def _changes(conn: sa.Connection, customer_id: int, wanted: int) -> list[dict[str, Any]]:
    return [
        {
            "at": entry["at"],
            "kind": "change",
            "title": entry["action"],
            "entity": "customers",
            "record_id": customer_id,
            "data": {"actor": entry["actor"], "actor_id": entry["actor_id"], "changes": entry["changes"]},
        }
        for entry in audit_history(conn, "customers", customer_id, limit=wanted)
    ]


def _checked(entry: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(entry.get("at"), datetime) or not isinstance(entry.get("kind"), str):
        raise TypeError(f"a customers_timeline_entries answer needs 'at' (datetime) and 'kind' (str): {entry!r}")
    return {"title": "", "entity": None, "record_id": None, "data": {}, **entry}
