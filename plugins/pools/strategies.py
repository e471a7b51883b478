"""Assignment strategies: who gets records entering a pool (created, imported, returned)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import rules
from .models import HOLDINGS, ROTATIONS
from .rules import effective
from .sqlbits import insert_ignoring

if TYPE_CHECKING:
    from kernel import Site

    from .kinds import PoolKind


@dataclass(frozen=True)
class Strategy:
    """A way to choose owners: ``choose(site=, conn=, kind=, pool=, records=, members=)`` returns one
    owner id (or ``None``: stays in the pool) per record, in order. ``members`` are the pool's members
    who may take records now (active, under their limit when the strategy asked for them)."""

    name: str
    label: dict[str, str]
    choose: Callable[..., list[int | None]]
    plugin: str = field(default="", compare=False)



def _room(conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], members: list[int]) -> dict[int, int]:
    """How many records each member holds from the pool now."""
    rows = conn.execute(
        sa.select(HOLDINGS.c.user_id, HOLDINGS.c.held).where(HOLDINGS.c.entity == kind.entity, HOLDINGS.c.pool_id == pool["id"], HOLDINGS.c.user_id.in_(members))
    ).all()
    held = {user: 0 for user in members}
    held.update({r.user_id: r.held for r in rows})
    return held


def _fits(pool: dict[str, Any], kind: PoolKind, record: dict[str, Any], held: int) -> bool:
    limit = effective(pool, record.get(kind.level_field) if kind.level_field else None).claim_limit
    return limit is None or held < limit


def round_robin(site: Site, conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], records: list[dict[str, Any]], members: list[int],
                exclude: dict[int, int]) -> list[int | None]:
    """Members in turn, after the one who got the last record (the turn is stored: ``pools_rotations``)."""
    if not members:
        return [None] * len(records)
    keys = {"entity": kind.entity, "pool_id": pool["id"]}
    insert_ignoring(conn, ROTATIONS, {**keys, "last_user_id": None}, list(keys))
    query = sa.select(ROTATIONS.c.last_user_id).where(ROTATIONS.c.entity == kind.entity, ROTATIONS.c.pool_id == pool["id"])
    last = conn.scalar(query.with_for_update() if conn.dialect.name == "postgresql" else query)
    held = _room(conn, kind, pool, members)
    position = next((i for i, m in enumerate(members) if last is not None and m > last), 0) if last is not None else 0
    chosen: list[int | None] = []
    for record in records:
        pick = None
        for step in range(len(members)):
            candidate = members[(position + step) % len(members)]
            if candidate != exclude.get(record["id"]) and _fits(pool, kind, record, held[candidate]):
                pick, position = candidate, (position + step + 1) % len(members)
                break
        chosen.append(pick)
        if pick is not None:
            held[pick] += 1
            last = pick
    conn.execute(sa.update(ROTATIONS).where(ROTATIONS.c.entity == kind.entity, ROTATIONS.c.pool_id == pool["id"]).values(last_user_id=last))
    return chosen


def least_loaded(site: Site, conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], records: list[dict[str, Any]], members: list[int],
                 exclude: dict[int, int]) -> list[int | None]:
    """The member holding the fewest records from the pool (ties: the lowest id)."""
    held = _room(conn, kind, pool, members)
    chosen: list[int | None] = []
    for record in records:
        fitting = [m for m in members if m != exclude.get(record["id"]) and _fits(pool, kind, record, held[m])]
        pick = min(fitting, key=lambda m: (held[m], m)) if fitting else None
        chosen.append(pick)
        if pick is not None:
            held[pick] += 1
    return chosen


def _value(record: dict[str, Any], name: str) -> Any:
    if name.startswith("custom."):
        return (record.get("custom") or {}).get(name[len("custom."):])
    return record.get(name)


def by_rules(site: Site, conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], records: list[dict[str, Any]], members: list[int],
             exclude: dict[int, int]) -> list[int | None]:
    """The first line of ``assignment_rules`` whose field (built-in or ``custom.NAME``) equals the record's value."""
    chosen: list[int | None] = []
    for record in records:
        line = next((r for r in pool["assignment_rules"] if _value(record, r["field"]) == r.get("value")), None)
        pick = line["owner_id"] if line is not None and line["owner_id"] in members and line["owner_id"] != exclude.get(record["id"]) else None
        chosen.append(pick)
    return chosen


def manual(**_: Any) -> list[int | None]:
    return []


BUILT_IN = (
    Strategy("manual", {"en": "Manual (claims and admins' assignments)", "zh_CN": "手动（领取或管理员分配）"}, manual),
    Strategy("round_robin", {"en": "Round robin", "zh_CN": "轮流分配"}, round_robin),
    Strategy("least_loaded", {"en": "Least loaded", "zh_CN": "分给持有最少者"}, least_loaded),
    Strategy("rules", {"en": "By rules", "zh_CN": "按规则分配"}, by_rules),
)


def strategies(site: Site) -> dict[str, Strategy]:
    """The built-in strategies and the enabled plugins' (``pools_assignment_strategies``), by name."""
    found = {s.name: s for s in BUILT_IN}
    for impl in reversed(site.view.pm.hook.pools_assignment_strategies.get_hookimpls()):
        for strategy in impl.function() or ():
            object.__setattr__(strategy, "plugin", impl.plugin_name)
            found.setdefault(strategy.name, strategy)
    return found


def places(site: Site, pool: dict[str, Any]) -> bool:
    """Whether ``pool``'s strategy gives records entering it owners (not ``manual``, nor an unknown one)."""
    strategy = strategies(site).get(pool["assignment"])
    return strategy is not None and strategy.name != "manual"


def place(site: Site, conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], records: list[dict[str, Any]], *,
          exclude: dict[int, int] | None = None, rule: str = "entered") -> list[int]:
    """Records entering ``pool`` unowned get owners by the pool's strategy (each within the member's limit and
    cooldown; a refused one stays in the pool). ``exclude``: record id → a user not to choose (the previous owner).
    Returns the ids given an owner."""
    if not records or not places(site, pool):
        return []
    strategy = strategies(site)[pool["assignment"]]
    members = rules.members(site, conn, pool)
    chosen = strategy.choose(site=site, conn=conn, kind=kind, pool=pool, records=records, members=members, exclude=exclude or {})
    from .operations import place_one

    placed = []
    for record, owner in zip(records, chosen):
        if owner is not None and place_one(site, conn, kind, pool, record, owner, f"{strategy.name}:{rule}"):
            placed.append(record["id"])
    return placed
