"""Who a user is to a pool (admin, member or neither), the pool's members by name, and live counts
of each pool's records — the shared reading of the pages, widgets and reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import UTCDateTime, allowed

from .kinds import PoolKind, kinds
from .returns import RETURN
from .rules import is_admin, is_member

if TYPE_CHECKING:
    from kernel import Actor, Site

#: How far ahead a held record counts as "due soon" (its return deadline within this window).
DUE_SOON = timedelta(days=3)
#: The kernel's per-record timers, read-only: a held record's return deadline is armed there (timer :data:`RETURN`).
TIMERS = sa.table(
    "kernel_timers", sa.column("entity", sa.String), sa.column("record_id", sa.BigInteger), sa.column("name", sa.String),
    sa.column("due_at", UTCDateTime()),
)


def role_in(actor: Actor, pool: dict[str, Any]) -> str | None:
    """``"admin"`` (a site admin, or named among the pool's admins or admin teams), ``"member"`` or ``None``."""
    if is_admin(pool, actor):
        return "admin"
    return "member" if is_member(pool, actor.user_id, actor.team_id) else None


def pool_kinds(site: Site, actor: Actor) -> list[PoolKind]:
    """The enabled kinds whose pooled entity ``actor`` may read, in a stable order."""
    return [k for name, k in sorted(kinds(site).items()) if allowed(site, actor, name, "read") and allowed(site, actor, k.pool_entity, "read")]


def kind_of_pool_entity(site: Site, pool_entity: str) -> PoolKind | None:
    return next((k for k in kinds(site).values() if k.pool_entity == pool_entity), None)


def members_of(site: Site, pool: dict[str, Any]) -> list[tuple[int, str]]:
    """``(id, name)`` of the active users who may hold the pool's records (members and admins, by user or team), by name."""
    users = site.view.entity("users").table
    ids = {*(pool.get("member_ids") or []), *(pool.get("admin_ids") or [])}
    teams = {*(pool.get("member_team_ids") or []), *(pool.get("admin_team_ids") or [])}
    if not ids and not teams:
        return []
    who = sa.or_(users.c.id.in_(ids or [-1]), users.c.team_id.in_(teams or [-1]))
    label = sa.func.coalesce(users.c.name, users.c.email)
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(users.c.id, label).where(who, users.c.active.is_(True)).order_by(label, users.c.id))
        return [(row[0], str(row[1])) for row in rows]


def live_counts(site: Site, actor: Actor, kind: PoolKind, pool_ids: list[int], now: datetime) -> dict[int, dict[str, int]]:
    """Per pool: records waiting in it, records held from it and held records due to return within
    :data:`DUE_SOON` — one grouped statement over the records ``actor`` may see."""
    if not pool_ids:
        return {}
    table = site.view.entity(kind.entity).table
    entity = site.view.entity(kind.entity)
    pool, owner = table.c[kind.pool_field], table.c[kind.owner(entity)]
    soon = sa.exists().where(
        TIMERS.c.entity == kind.entity, TIMERS.c.name == RETURN, TIMERS.c.record_id == table.c.id, TIMERS.c.due_at <= now + DUE_SOON,
    )
    query = (
        sa.select(
            pool.label("pool_id"),
            sa.func.count().filter(owner.is_(None)).label("waiting"),
            sa.func.count().filter(owner.is_not(None)).label("held"),
            sa.func.count().filter(owner.is_not(None), soon).label("due_soon"),
        )
        .where(pool.in_(pool_ids), site.records.visible(actor, kind.entity))
        .group_by(pool)
    )
    with site.engine.connect() as conn:
        found = {row.pool_id: {"waiting": row.waiting, "held": row.held, "due_soon": row.due_soon} for row in conn.execute(query)}
    return {i: found.get(i, {"waiting": 0, "held": 0, "due_soon": 0}) for i in pool_ids}


def title_column(entity: Any) -> sa.ColumnElement[Any]:
    """The column that names a record of ``entity`` (its title field, else ``name``, ``title``…, else the id)."""
    table = entity.table
    for name in (entity.title_field, "name", "title", "subject", "email"):
        if name and name in table.c:
            return table.c[name]
    return sa.cast(table.c.id, sa.String)
