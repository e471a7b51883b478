"""My holdings (``/p/pools/holdings``): the records I hold from pools, soonest return first, with the
days left and the deadline that applies (follow-up or close), one tab per pool kind.

The deadlines are the engine's (:func:`plugins.pools.deadlines_of`: follow-up N×24 h after the later
of the assignment and the last activity, close N×24 h after the assignment, a level's override
winning); the earlier one applies. The order is the return timer's, the one the job acts on.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from kernel import optional_id
from kernel.ui import record_title, ui_of

from .access import TIMERS, pool_kinds, title_column
from .models import HOLDS
from .returns import RETURN, deadlines_of
from .rules import effective

if TYPE_CHECKING:
    from kernel import Actor, Site

    from .kinds import PoolKind

PAGE_SIZE = 25
LABELS = {
    "followup": {"en": "Follow-up deadline", "zh_CN": "跟进期限"},
    "close": {"en": "Close deadline", "zh_CN": "成交期限"},
}
SORTS = ("deadline", "-deadline", "assigned", "-assigned", "name", "-name")


def page_of_holdings(site: Site, actor: Actor, kind: PoolKind, sort: str, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of what ``actor`` holds of ``kind`` (records, with ``_hold`` and ``_due`` added) and the total."""
    entity = site.view.entity(kind.entity)
    table = entity.table
    owner = table.c[kind.owner(entity)]
    due = (
        sa.select(sa.func.min(TIMERS.c.due_at))
        .where(TIMERS.c.entity == kind.entity, TIMERS.c.name == RETURN, TIMERS.c.record_id == table.c.id)
        .scalar_subquery()
    )
    title = title_column(entity)
    order = {
        "deadline": [due.is_(None), due], "-deadline": [due.is_(None), due.desc()],
        "assigned": [HOLDS.c.assigned_at], "-assigned": [HOLDS.c.assigned_at.desc()],
        "name": [title], "-name": [title.desc()],
    }[sort]
    mine = [HOLDS.c.entity == kind.entity, HOLDS.c.user_id == actor.user_id, owner == actor.user_id, site.records.visible(actor, kind.entity)]
    joined = table.join(HOLDS, sa.and_(HOLDS.c.entity == kind.entity, HOLDS.c.record_id == table.c.id))
    query = sa.select(table.c.id, HOLDS.c.pool_id, HOLDS.c.assigned_at, HOLDS.c.counted, due.label("due_at")).select_from(joined).where(*mine)
    with site.engine.connect() as conn:
        total = conn.scalar(sa.select(sa.func.count()).select_from(joined).where(*mine)) or 0
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(*order, table.c.id).limit(PAGE_SIZE).offset(offset))]
        deadlines = deadlines_of(site, conn, kind.entity, [r["id"] for r in rows])
    if not rows:
        return [], total
    by_id = {r["id"]: r for r in site.records.list(actor, kind.entity, filters={"id__in": [r["id"] for r in rows]}, limit=PAGE_SIZE).items}
    pools = {p["id"]: p for p in site.records.list(actor, kind.pool_entity, filters={"id__in": sorted({r["pool_id"] for r in rows})}, limit=PAGE_SIZE).items}
    found = []
    for row in rows:
        record = by_id.get(row["id"])
        if record is None:
            continue
        pool = pools.get(row["pool_id"]) or {"id": row["pool_id"], "name": f"#{row['pool_id']}"}
        found.append({
            "record": record, "pool": pool, "assigned_at": row["assigned_at"], "closed": not row["counted"],
            "deadline": applying(kind, pool, record, deadlines.get(row["id"], {})),
        })
    return found, total


def applying(kind: PoolKind, pool: dict[str, Any], record: dict[str, Any], found: dict[str, Any]) -> dict[str, Any] | None:
    """The earlier of the record's follow-up and close deadlines: ``{"rule", "due_at", "days", "overridden"}``."""
    due = sorted((at, rule) for rule, at in found.items() if rule in LABELS)
    if not due:
        return None
    at, rule = due[0]
    level = record.get(kind.level_field) if kind.level_field else None
    days = getattr(effective(pool, level), f"{rule}_days")
    overridden = level is not None and f"{rule}_days" in ((pool.get("level_overrides") or {}).get(str(level)) or {})
    return {"rule": rule, "due_at": at, "days": days, "overridden": overridden}


def days_left(due_at: Any, now: Any) -> int:
    """Whole days left (0 on the last day, negative once overdue and not yet returned)."""
    return int((due_at - now).total_seconds() // 86400)


async def holdings_page(request: Request) -> Response:
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    now = site.clock.now()
    tabs = pool_kinds(site, actor)
    chosen = next((k for k in tabs if k.entity == request.query_params.get("entity")), tabs[0] if tabs else None)
    sort = request.query_params.get("sort", "deadline")
    sort = sort if sort in SORTS else "deadline"
    found = optional_id(request.query_params.get("page"))
    page_no = found if found is not None and found < 10_000 else 1
    rows, total = page_of_holdings(site, actor, chosen, sort, (page_no - 1) * PAGE_SIZE) if chosen is not None else ([], 0)
    for row in rows:
        deadline = row["deadline"]
        row["days_left"] = days_left(deadline["due_at"], now) if deadline else None
        row["rule_label"] = ui.label(LABELS[deadline["rule"]]) if deadline else ""
    entity = site.view.entity(chosen.entity) if chosen is not None else None
    query = {k: v for k, v in {"entity": chosen.entity if chosen and len(tabs) > 1 else "", "sort": sort if sort != "deadline" else ""}.items() if v}
    return ui.render(
        "pools/holdings.html",
        tabs=[{"kind": k, "label": ui.label(site.view.entity(k.entity).label_plural, k.entity)} for k in tabs],
        chosen=chosen,
        entity=entity,
        record_title=(lambda record: record_title(entity, record)) if entity else str,
        rows=rows,
        total=total,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        sort=sort,
        query=query,
        urlencode=urlencode,
        now=now,
        released=request.query_params.get("released") == "1",
    )
