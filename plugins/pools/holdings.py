"""Per-member counters changed by conditional updates, and the held records' rows.

A claim takes a slot with ``UPDATE … SET held = held + 1 WHERE held < :limit`` in the same
transaction as the owner change: zero rows updated is a refusal. Under PostgreSQL's READ COMMITTED a
concurrent claimer waits for the row lock and re-checks the condition on the committed value, so no
member ever ends over a limit; SQLite lets one writer in at a time. A plain CHECK constraint would
break the day an admin lowers a limit below what someone holds; this only refuses new claims.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from kernel import ids_in

from .models import COOLDOWNS, DAILY, HOLDINGS, HOLDS
from .sqlbits import insert_ignoring, upsert, upsert_many


def take_slot(conn: sa.Connection, entity: str, pool_id: int, user_id: int, limit: int | None) -> bool:
    """One more record held by ``user_id`` from the pool, if under ``limit`` (``None``: no limit)."""
    return _one_more(conn, HOLDINGS, "held", {"entity": entity, "pool_id": pool_id, "user_id": user_id}, limit)


def _one_more(conn: sa.Connection, table: sa.Table, counter: str, keys: dict[str, Any], limit: int | None) -> bool:
    """Add one to ``counter`` of the row ``keys`` by a conditional UPDATE, if under ``limit``; zero rows
    updated is the refusal. The row is there on every claim but a member's first (from the pool, of the
    day), so only when the UPDATE changed nothing is the row created (``ON CONFLICT DO NOTHING``: a
    concurrent creator's row is waited for and kept) and the UPDATE run once more, on the row as committed."""
    statement = _counting(table, counter, tuple(keys), limit is not None)
    values = {f"_{k}": v for k, v in keys.items()} | ({"_limit": limit} if limit is not None else {})
    if conn.execute(statement, values).rowcount == 1:
        return True
    insert_ignoring(conn, table, {**keys, counter: 0}, list(keys))
    return conn.execute(statement, values).rowcount == 1


@lru_cache(maxsize=16)
def _counting(table: sa.Table, counter: str, keys: tuple[str, ...], limited: bool) -> sa.Update:
    """``UPDATE table SET counter = counter + 1 WHERE keys [AND counter < :_limit]``, built once (values bound
    as ``_KEY``)."""
    statement = sa.update(table).where(*(table.c[k] == sa.bindparam(f"_{k}") for k in keys)).values({counter: table.c[counter] + 1})
    return statement.where(table.c[counter] < sa.bindparam("_limit")) if limited else statement


def lock_slots(conn: sa.Connection, entity: str, pool_id: int, users: Iterable[int | None]) -> None:
    """Lock the counters of ``users`` in user order before changing two of them (a transfer), so two
    transfers in opposite directions wait for each other instead of deadlocking (PostgreSQL)."""
    wanted = sorted({u for u in users if u is not None})
    for user_id in wanted:
        insert_ignoring(conn, HOLDINGS, {"entity": entity, "pool_id": pool_id, "user_id": user_id, "held": 0}, ["entity", "pool_id", "user_id"])
    if conn.dialect.name == "postgresql" and len(wanted) > 1:
        query = sa.select(HOLDINGS.c.id).where(HOLDINGS.c.entity == entity, HOLDINGS.c.pool_id == pool_id, HOLDINGS.c.user_id.in_(wanted))
        conn.execute(query.order_by(HOLDINGS.c.user_id).with_for_update())


def take_daily(conn: sa.Connection, entity: str, pool_id: int, user_id: int, day: date, limit: int | None) -> bool:
    """One more claim by ``user_id`` from the pool on ``day``, if under ``limit``."""
    return _one_more(conn, DAILY, "claimed", {"entity": entity, "pool_id": pool_id, "user_id": user_id, "day": day}, limit)


def give_back(conn: sa.Connection, entity: str, slots: Iterable[tuple[int, int]]) -> None:
    """Free one slot per ``(pool_id, user_id)`` given (a pair given twice frees two)."""
    counts = Counter(slots)
    if not counts:
        return
    statement = (
        sa.update(HOLDINGS)
        .where(HOLDINGS.c.entity == entity, HOLDINGS.c.pool_id == sa.bindparam("_pool"), HOLDINGS.c.user_id == sa.bindparam("_user"))
        .values(held=sa.case((HOLDINGS.c.held > sa.bindparam("_n"), HOLDINGS.c.held - sa.bindparam("_n")), else_=0))
    )
    conn.execute(statement, [{"_pool": p, "_user": u, "_n": n} for (p, u), n in sorted(counts.items())])


def holds_of(conn: sa.Connection, entity: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The hold rows of records ``ids``, by record id."""
    if not ids:
        return {}
    query = sa.select(HOLDS).where(HOLDS.c.entity == entity, ids_in(HOLDS.c.record_id, ids, conn.dialect.name))
    return {row.record_id: dict(row._mapping) for row in conn.execute(query)}


def hold(conn: sa.Connection, entity: str, record_id: int, pool_id: int, user_id: int, at: datetime) -> dict[str, Any]:
    """``record_id`` is now held by ``user_id`` from the pool, since ``at`` (and counts against the limit); the row
    as stored."""
    row = {"entity": entity, "record_id": record_id, "pool_id": pool_id, "user_id": user_id, "assigned_at": at, "counted": True, "reminded_at": None}
    upsert(conn, HOLDS, row, ["entity", "record_id"], ["pool_id", "user_id", "assigned_at", "counted", "reminded_at"])
    return row


def live(hold: dict[str, Any] | None, pool_id: Any, owner_id: Any) -> bool:
    """Whether ``hold`` is the hold of a record in pool ``pool_id`` owned by ``owner_id`` (see :class:`~.models.Hold`:
    a returned record's hold stays behind, not live)."""
    return hold is not None and owner_id is not None and hold["user_id"] == owner_id and hold["pool_id"] == pool_id


def unhold(conn: sa.Connection, entity: str, before: dict[int, tuple[Any, Any]]) -> list[tuple[int, int]]:
    """Forget the holds of the records ``before`` names (record id → its pool and owner before the change);
    the ``(pool_id, user_id)`` slots of those that were live and counted (to give back)."""
    if not before:
        return []
    rows = conn.execute(
        sa.delete(HOLDS).where(HOLDS.c.entity == entity, ids_in(HOLDS.c.record_id, sorted(before), conn.dialect.name))
        .returning(HOLDS.c.record_id, HOLDS.c.pool_id, HOLDS.c.user_id, HOLDS.c.counted)
    ).all()
    return [(r.pool_id, r.user_id) for r in rows if r.counted and live(r._mapping, *before[r.record_id])]


#: :func:`cooldown_until`'s query, built once (every claim, assignment and transfer asks).
_COOLDOWN_UNTIL = sa.select(COOLDOWNS.c.until).where(
    COOLDOWNS.c.entity == sa.bindparam("_entity"), COOLDOWNS.c.record_id == sa.bindparam("_record_id"),
    COOLDOWNS.c.user_id == sa.bindparam("_user_id"), COOLDOWNS.c.until > sa.bindparam("_now"),
)


def cooldown_until(conn: sa.Connection, entity: str, record_id: int, user_id: int, now: datetime) -> datetime | None:
    """Until when ``user_id`` may not take ``record_id`` again, if that is after ``now``."""
    return conn.scalar(_COOLDOWN_UNTIL, {"_entity": entity, "_record_id": record_id, "_user_id": user_id, "_now": now})


def start_cooldowns(conn: sa.Connection, entity: str, rows: list[tuple[int, int, datetime]]) -> None:
    """``(record_id, user_id, until)``: the user may not take the record again before ``until``."""
    upsert_many(conn, COOLDOWNS, [{"entity": entity, "record_id": record_id, "user_id": user_id, "until": until} for record_id, user_id, until in rows],
                ["entity", "record_id", "user_id"], ["until"])
