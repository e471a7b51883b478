"""Opportunities on their customer's page: each stage move (a state event) in the customer's timeline,
the count the merge dialog shows, and opportunities following their customer through a merge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import state_events_table

from .models import OPPORTUNITIES
from .stages import ENTITY

if TYPE_CHECKING:
    from kernel import Actor, Site


def timeline_entries(site: Site, conn: sa.Connection, actor: Actor, customer_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` stage moves of the customer's opportunities ``actor`` may see."""
    events, t = state_events_table(), OPPORTUNITIES.c
    query = (
        sa.select(events.c.record_id, events.c.from_state, events.c.to_state, events.c.kind, events.c.at, events.c.actor,
                  events.c.snapshot, t.name, t.pipeline_id)
        .join(OPPORTUNITIES, sa.and_(events.c.entity == ENTITY, events.c.record_id == t.id))
        .where(t.customer_id == customer_id, site.records.visible(actor, ENTITY))
        .order_by(events.c.at.desc(), events.c.id.desc())
        .limit(limit)
    )
    rows = conn.execute(query).all()
    labels = _labels(site, conn, {r.pipeline_id for r in rows})
    entries = []
    for row in rows:
        to = labels.get((row.pipeline_id, row.to_state), {"en": row.to_state, "zh_CN": row.to_state})
        before = labels.get((row.pipeline_id, row.from_state)) if row.from_state else None
        entries.append({
            "at": row.at, "kind": "opportunity_stage", "entity": ENTITY, "record_id": row.record_id,
            "title": f"{row.name}: {_move(before, to, 'zh_CN')} ({_move(before, to, 'en')})",
            "data": {"from": row.from_state, "to": row.to_state, "to_label": to, "from_label": before, "by": row.actor,
                     "amount": (row.snapshot or {}).get("amount")},
        })
    return entries


def _move(before: dict[str, str] | None, to: dict[str, str], locale: str) -> str:
    """``需求确认 → 报价`` in one language (the timeline's title is stored text, so it carries both)."""
    return f"{before[locale]} → {to[locale]}" if before else to[locale]


def _labels(site: Site, conn: sa.Connection, pipeline_ids: set[int]) -> dict[tuple[int, str], dict[str, str]]:
    found: dict[tuple[int, str], dict[str, str]] = {}
    for pipeline_id in pipeline_ids:
        for state in site.states.definitions(ENTITY, pipeline_id, conn=conn):
            found[(pipeline_id, state.key)] = dict(state.label)
    return found


def related_counts(conn: sa.Connection, customer_id: int) -> dict[str, int]:
    count = conn.scalar(sa.select(sa.func.count()).select_from(OPPORTUNITIES).where(OPPORTUNITIES.c.customer_id == customer_id)) or 0
    return {ENTITY: int(count)} if count else {}


def merge_related(conn: sa.Connection, survivor_id: int, merged_id: int) -> dict[str, Any]:
    """The merged customer's opportunities now belong to the survivor (one UPDATE); their ids, to undo it."""
    t = OPPORTUNITIES.c
    ids = [int(i) for i in conn.scalars(sa.select(t.id).where(t.customer_id == merged_id))]
    if ids:
        conn.execute(sa.update(OPPORTUNITIES).where(t.id.in_(ids)).values(customer_id=survivor_id))
    return {ENTITY: ids}


def unmerge_related(conn: sa.Connection, survivor_id: int, merged_id: int, moved: dict[str, Any]) -> None:
    ids = [int(i) for i in moved.get(ENTITY) or []]
    if ids:
        t = OPPORTUNITIES.c
        conn.execute(sa.update(OPPORTUNITIES).where(t.id.in_(ids), t.customer_id == survivor_id).values(customer_id=merged_id))


