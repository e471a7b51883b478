"""A pool's rules as they apply: membership, level overrides, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import NotFound

from .models import LEVEL_RULES
from .sqlbits import list_has

if TYPE_CHECKING:
    from kernel import Actor, Site

    from .kinds import PoolKind


@dataclass(frozen=True)
class Rules:
    """The limits and deadlines of one pool for one record (its level's overrides applied); ``None`` is none."""

    claim_limit: int | None = None
    daily_claim_limit: int | None = None
    followup_days: int | None = None
    close_days: int | None = None
    remind_hours: int | None = None
    cooldown_days: int | None = None


def effective(pool: dict[str, Any], level: Any = None) -> Rules:
    """``pool``'s rules for a record of ``level``: an override of the level wins (``None`` in it: no limit)."""
    values = {name: pool.get(name) for name in LEVEL_RULES}
    overrides = (pool.get("level_overrides") or {}).get(str(level)) if level is not None else None
    if overrides:
        values.update({k: v for k, v in overrides.items() if k in LEVEL_RULES})
    return Rules(**values)


def pool_table(site: Site, kind: PoolKind) -> sa.Table:
    return site.view.entities[kind.pool_entity].table


def load_pool(site: Site, conn: sa.Connection, kind: PoolKind, pool_id: int) -> dict[str, Any]:
    row = conn.execute(_pool_query(pool_table(site, kind)), {"_id": pool_id}).first()
    if row is None:
        raise NotFound(f"no {kind.pool_entity} record with id {pool_id}", [{"loc": [kind.pool_field], "msg": "not found"}])
    return dict(row._mapping)


@lru_cache(maxsize=64)
def _pool_query(table: sa.Table) -> sa.Select[Any]:
    """``SELECT * FROM table WHERE id = :_id``, built once per pool entity (every pool operation reads its pool)."""
    return sa.select(table).where(table.c.id == sa.bindparam("_id"))


def load_pools(site: Site, conn: sa.Connection, kind: PoolKind, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    table = pool_table(site, kind)
    return {row.id: dict(row._mapping) for row in conn.execute(sa.select(table).where(table.c.id.in_(sorted(ids))))}


def is_admin(pool: dict[str, Any], actor: Actor) -> bool:
    """A pool admin: named, in a named team, or the site's admin."""
    if actor.role == "admin":
        return True
    return (actor.user_id is not None and actor.user_id in pool["admin_ids"]) or (
        actor.team_id is not None and actor.team_id in pool["admin_team_ids"]
    )


def is_member(pool: dict[str, Any], user_id: int | None, team_id: int | None) -> bool:
    """A member (admins are members too) by user or team."""
    if user_id is None:
        return False
    return user_id in pool["member_ids"] or user_id in pool["admin_ids"] or (
        team_id is not None and (team_id in pool["member_team_ids"] or team_id in pool["admin_team_ids"])
    )


def members(site: Site, conn: sa.Connection, pool: dict[str, Any]) -> list[int]:
    """The pool's active members' user ids (named or through a team; admins too), in id order."""
    users = site.view.entities["users"].table
    teams = set(pool["member_team_ids"]) | set(pool["admin_team_ids"])
    named = set(pool["member_ids"]) | set(pool["admin_ids"])
    condition = sa.or_(users.c.id.in_(sorted(named)), users.c.team_id.in_(sorted(teams)))
    return list(conn.scalars(sa.select(users.c.id).where(condition, users.c.active.is_(True)).order_by(users.c.id)))


def user_team(site: Site, conn: sa.Connection, user_id: int) -> int | None:
    users = site.view.entities["users"].table
    return conn.scalar(sa.select(users.c.team_id).where(users.c.id == user_id))


def pools_of(table: sa.Table, user_id: int | None, team_id: int | None, *, admin: bool) -> sa.Select[Any]:
    """The ids of the pools (of the pool entity's ``table``) the user in ``team_id`` is a member
    (``admin=False``) or an admin of, as a subquery."""
    columns = ("admin_ids", "admin_team_ids") if admin else ("member_ids", "member_team_ids", "admin_ids", "admin_team_ids")
    conditions = []
    for name in columns:
        value = team_id if name.endswith("team_ids") else user_id
        if value is not None:
            conditions.append(list_has(table.c[name], int(value)))
    return sa.select(table.c.id).where(sa.or_(*conditions) if conditions else sa.false())


def deadlines(rules: Rules, assigned_at: datetime, activity: datetime | None) -> dict[str, datetime]:
    """When a held record goes back: ``followup`` (N×24 h from the later of the assignment and the last
    activity), ``close`` (N×24 h from the assignment), and ``remind`` (``remind_hours`` before the first)."""
    found: dict[str, datetime] = {}
    if rules.followup_days:
        start = max(assigned_at, activity) if activity is not None else assigned_at
        found["followup"] = start + timedelta(days=rules.followup_days)
    if rules.close_days:
        found["close"] = assigned_at + timedelta(days=rules.close_days)
    if found and rules.remind_hours:
        found["remind"] = min(found.values()) - timedelta(hours=rules.remind_hours)
    return found
