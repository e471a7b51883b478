"""Routing: a new lead created without a pool goes to the first lead pool (by id) whose
routing rules match it, else to the default pool; the pools engine then places it with the pool's
assignment strategy when the lead has no owner. One pool at most is the default: making one the default takes it from the other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .models import POOLS

if TYPE_CHECKING:
    from kernel import Actor, Site

CACHE = "leads.routing"


def value_of(lead: dict[str, Any], field: str) -> Any:
    if field.startswith("custom."):
        return (lead.get("custom") or {}).get(field[len("custom."):])
    return lead.get(field)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return a == b and type(a) is type(b)


def matches(rule: dict[str, Any], lead: dict[str, Any]) -> bool:
    """Whether ``lead`` (values as they will be stored) meets one rule (``value`` or ``in``)."""
    have = value_of(lead, rule["field"])
    if have is None:
        return False
    wanted = rule["in"] if "in" in rule else [rule.get("value")]
    return any(_same(have, w) for w in wanted)


def pools_for_routing(conn: sa.Connection) -> tuple[list[tuple[int, list[dict[str, Any]]]], int | None]:
    """The pools with routing rules, by id, and the default pool's id: read once per transaction."""
    transaction = conn.get_transaction()
    cached = conn.info.get(CACHE)
    if cached is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    rows = conn.execute(sa.select(POOLS.c.id, POOLS.c.routing_rules, POOLS.c.is_default).order_by(POOLS.c.id)).all()
    answer = ([(r.id, list(r.routing_rules or ())) for r in rows if r.routing_rules], next((r.id for r in rows if r.is_default), None))
    conn.info[CACHE] = (transaction, answer)
    return answer


def forget(conn: sa.Connection) -> None:
    conn.info.pop(CACHE, None)


def pool_for(conn: sa.Connection, lead: dict[str, Any]) -> int | None:
    routed, default = pools_for_routing(conn)
    for pool_id, rules in routed:
        if any(matches(rule, lead) for rule in rules):
            return pool_id
    return default


def route(conn: sa.Connection, values: dict[str, Any]) -> None:
    """``before_create`` of a lead: a lead without a pool gets one (in place). An owned lead keeps its
    owner and counts against their limit in that pool, whose deadlines then apply to it."""
    if values.get("pool_id") is None:
        values["pool_id"] = pool_for(conn, values)


def one_default(site: Site, conn: sa.Connection, actor: Actor, pool: dict[str, Any]) -> None:
    """``after_create``/``after_update`` of a lead pool that is now the default: no other one is."""
    forget(conn)
    if not pool.get("is_default"):
        return
    others = list(conn.scalars(sa.select(POOLS.c.id).where(POOLS.c.is_default.is_(True), POOLS.c.id != pool["id"])))
    if others:
        site.records.update_many(actor.elevated("default lead pool"), "lead_pools", ids=others, changes={"is_default": False}, conn=conn)
