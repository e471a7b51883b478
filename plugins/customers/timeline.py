"""A customer's 360° timeline: follow-ups, tasks, changes and whatever other plugins add.

Each source returns its newest ``offset + limit + 1`` entries; they are merged
newest first and cut to the page, so every page is exact without counting all
sources. Other plugins contribute through ``customers_timeline_entries``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import ValidationError
from kernel.audit import AUDIT, jsonable

from .models import Followup, Task

if TYPE_CHECKING:
    from kernel import Actor, Site

FOLLOWUPS = Followup.__table__
TASKS = Task.__table__
MAX_LIMIT = 200


def customer_timeline(site: Site, actor: Actor, customer_id: int, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """One page of the timeline of a customer ``actor`` may see (404 otherwise), newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.at(["query", "limit"], f"must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationError.at(["query", "offset"], "must be 0 or more")
    wanted = offset + limit + 1
    with site.engine.connect() as conn:
        site.records.get(actor, "customers", customer_id, conn=conn)
        entries = [
            *_followups(conn, customer_id, wanted),
            *_tasks(conn, customer_id, wanted),
            *_changes(conn, customer_id, wanted),
        ]
        for batch in site.view.pm.hook.customers_timeline_entries(site=site, conn=conn, actor=actor, customer_id=customer_id, limit=wanted):
            entries.extend(_checked(entry) for entry in batch or ())
    entries.sort(key=lambda e: (e["at"], e["kind"], e.get("record_id") or 0), reverse=True)
    page = entries[offset : offset + limit]
    return {
        "items": jsonable(page),
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(entries) > offset + limit else None,
    }


def _followups(conn: sa.Connection, customer_id: int, wanted: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(FOLLOWUPS)
        .where(FOLLOWUPS.c.customer_id == customer_id)
        .order_by(FOLLOWUPS.c.followed_at.desc(), FOLLOWUPS.c.id.desc())
        .limit(wanted)
    )
    return [
        {
            "at": row.followed_at,
            "kind": "followup",
            "title": row.content[:200],
            "entity": "followups",
            "record_id": row.id,
            "data": {"method": row.method, "owner_id": row.owner_id, "next_at": row.next_at},
        }
        for row in rows
    ]


def _tasks(conn: sa.Connection, customer_id: int, wanted: int) -> list[dict[str, Any]]:
    newest = TASKS.c.created_at.desc(), TASKS.c.id.desc()
    rows = conn.execute(sa.select(TASKS).where(TASKS.c.customer_id == customer_id).order_by(*newest).limit(wanted))
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
    rows = conn.execute(
        sa.select(AUDIT)
        .where(AUDIT.c.entity == "customers", AUDIT.c.record_id == customer_id)
        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
        .limit(wanted)
    )
    return [
        {
            "at": row.at,
            "kind": "change",
            "title": row.action,
            "entity": "customers",
            "record_id": customer_id,
            "data": {"actor": row.actor, "actor_id": row.actor_id, "changes": row.changes},
        }
        for row in rows
    ]


def _checked(entry: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(entry.get("at"), datetime) or not isinstance(entry.get("kind"), str):
        raise TypeError(f"a customers_timeline_entries answer needs 'at' (datetime) and 'kind' (str): {entry!r}")
    return {"title": "", "entity": None, "record_id": None, "data": {}, **entry}
