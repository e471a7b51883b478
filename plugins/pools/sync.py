"""Keeping holds and counters true when owners or pools change outside a pool operation (a record created
owned, the kernel's bulk assign, a record moved between pools, deleted or restored), placing records that
enter a pool unowned, and re-arming deadlines when a pool's rules change. Called from the record hooks."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import rearm_timers

from . import holdings
from .kinds import PoolKind, kind_of, kind_of_pool
from .models import LEVEL_RULES
from .operations import OPERATING
from .rules import load_pools, pool_table, pools_of
from .strategies import place

if TYPE_CHECKING:
    from kernel import Actor, Site

RULE_FIELDS = (*LEVEL_RULES, "level_overrides")


def visible(site: Site, actor: Actor, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """Members and admins of a pool see its unowned records; its admins also the ones held from it."""
    kind = kind_of(site, entity)
    if kind is None or actor.user_id is None:
        return None
    return _visible(table, kind.owner(site.view.entities[entity]), kind.pool_field, pool_table(site, kind), actor.user_id, actor.team_id)


@lru_cache(maxsize=4096)
def _visible(table: sa.Table, owner_field: str, pool_field: str, pools: sa.Table, user_id: int, team_id: int | None) -> sa.ColumnElement[bool]:
    """:func:`visible`'s condition, built once per table and user: every read of a pooled record asks for
    it (a claim twice), and building it costs more than the database takes to apply it."""
    owner, pool = table.c[owner_field], table.c[pool_field]
    return sa.or_(sa.and_(owner.is_(None), pool.in_(pools_of(pools, user_id, team_id, admin=False))), pool.in_(pools_of(pools, user_id, team_id, admin=True)))


def holds_follow(
    site: Site, conn: sa.Connection, kind: PoolKind, records: Sequence[dict[str, Any]], before: dict[int, tuple[Any, Any]] | None = None,
) -> None:
    """Make the holds of ``records`` match their owner and pool, counting without a limit (the change was
    decided elsewhere: an admin's assign, a move between pools). ``before``: each record's pool and owner
    before the change (``None``: new records), which says whether its hold was live."""
    owner = kind.owner(site.view.entities[kind.entity])
    current = holdings.holds_of(conn, kind.entity, [r["id"] for r in records])
    now = site.clock.now()
    for record in records:
        want = (record.get(kind.pool_field), record.get(owner))
        was = (before or {}).get(record["id"], (None, None))
        hold = current.get(record["id"])
        if (hold is None and None in want) or (holdings.live(hold, *was) and want == was):
            continue  # nothing held nor to hold; or held as before
        if hold is not None:
            holdings.give_back(conn, kind.entity, holdings.unhold(conn, kind.entity, {record["id"]: was}))
        if want[0] is not None and want[1] is not None:
            holdings.take_slot(conn, kind.entity, want[0], want[1], None)
            holdings.hold(conn, kind.entity, record["id"], want[0], want[1], now)


def entering(site: Site, conn: sa.Connection, kind: PoolKind, records: Sequence[dict[str, Any]]) -> None:
    """Unowned records that just entered a pool: its strategy may give them owners."""
    owner = kind.owner(site.view.entities[kind.entity])
    waiting = [r for r in records if r.get(owner) is None and r.get(kind.pool_field) is not None]
    pools = load_pools(site, conn, kind, {r[kind.pool_field] for r in waiting})
    for pool_id, pool in sorted(pools.items()):
        place(site, conn, kind, pool, [r for r in waiting if r[kind.pool_field] == pool_id])


def after_create(site: Site, conn: sa.Connection, entity: str, records: Sequence[dict[str, Any]]) -> None:
    kind = kind_of(site, entity)
    if kind is None or OPERATING.get():
        return
    holds_follow(site, conn, kind, records)
    entering(site, conn, kind, records)


def checks_pool(site: Site, entity: str, fields: frozenset[str]) -> bool:
    """Whether a batch of ``entity`` changing ``fields`` needs ``before_update``'s check (a pool's own rules)."""
    return kind_of_pool(site, entity) is not None


def follows(site: Site, entity: str, fields: frozenset[str]) -> bool:
    """Whether :func:`after_update` has work in a batch of ``entity`` changing ``fields``: a pooled
    record's owner or pool changed outside a pool operation (which keeps its holds itself), or a
    pool's rules changed."""
    kind = kind_of(site, entity)
    if kind is not None:
        return not OPERATING.get() and bool(fields & {kind.owner(site.view.entities[entity]), kind.pool_field})
    return kind_of_pool(site, entity) is not None and bool(fields & set(RULE_FIELDS))


def after_update(site: Site, conn: sa.Connection, entity: str, records: Sequence[dict[str, Any]], changes: Sequence[dict[str, Any]]) -> None:
    kind = kind_of(site, entity)
    if kind is not None:
        if OPERATING.get():
            return
        owner = kind.owner(site.view.entities[entity])
        moved = [(r, c) for r, c in zip(records, changes) if owner in c or kind.pool_field in c]
        if moved:
            before = {r["id"]: (_old(r, c, kind.pool_field), _old(r, c, owner)) for r, c in moved}
            holds_follow(site, conn, kind, [r for r, _ in moved], before)
            entering(site, conn, kind, [r for r, c in zip(records, changes) if kind.pool_field in c])
        return
    pooled = kind_of_pool(site, entity)
    if pooled is not None:
        changed = [r["id"] for r, c in zip(records, changes) if any(name in c for name in RULE_FIELDS)]
        if changed:
            table = site.view.entities[pooled.entity].table
            owner = table.c[pooled.owner(site.view.entities[pooled.entity])]
            held = list(conn.scalars(sa.select(table.c.id).where(table.c[pooled.pool_field].in_(changed), owner.is_not(None))))
            if held:
                rearm_timers(site, conn, pooled.entity, held)


def _old(record: dict[str, Any], changes: dict[str, Any], field: str) -> Any:
    """``field``'s value before the change (``changes`` maps a field to ``(old, new)``)."""
    return changes[field][0] if field in changes else record.get(field)


def after_delete(site: Site, conn: sa.Connection, entity: str, records: Sequence[dict[str, Any]]) -> None:
    kind = kind_of(site, entity)
    if kind is not None:
        owner = kind.owner(site.view.entities[entity])
        holdings.give_back(conn, entity, holdings.unhold(conn, entity, {r["id"]: (r.get(kind.pool_field), r.get(owner)) for r in records}))
