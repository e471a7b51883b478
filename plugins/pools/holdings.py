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
from typing import Any

import sqlalchemy as sa

from kernel import ids_in

from .models import COOLDOWNS, DAILY, HOLDINGS, HOLDS
from .sqlbits import insert_ignoring, upsert, upsert_many


def take_slot(conn: sa.Connection, entity: str, pool_id: int, user_id: int, limit: int | None) -> bool:
    """One more record held by ``user_id`` from the pool, if under ``limit`` (``None``: no limit)."""
    keys = {"entity": entity, "pool_id": pool_id, "user_id": user_id}
    insert_ignoring(conn, HOLDINGS, {**keys, "held": 0}, list(keys))
    statement = sa.update(HOLDINGS).where(*(HOLDINGS.c[k] == v for k, v in keys.items())).values(held=HOLDINGS.c.held + 1)
    if limit is not None:
        statement = statement.where(HOLDINGS.c.held < limit)
    return conn.execute(statement).rowcount == 1


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
    keys = {"entity": entity, "pool_id": pool_id, "user_id": user_id, "day": day}
    insert_ignoring(conn, DAILY, {**keys, "claimed": 0}, list(keys))
    statement = sa.update(DAILY).where(*(DAILY.c[k] == v for k, v in keys.items())).values(claimed=DAILY.c.claimed + 1)
    if limit is not None:
        statement = statement.where(DAILY.c.claimed < limit)
    return conn.execute(statement).rowcount == 1


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


def hold(conn: sa.Connection, entity: str, record_id: int, pool_id: int, user_id: int, at: datetime) -> None:
    """``record_id`` is now held by ``user_id`` from the pool, since ``at`` (and counts against the limit)."""
    row = {"entity": entity, "record_id": record_id, "pool_id": pool_id, "user_id": user_id, "assigned_at": at, "counted": True, "reminded_at": None}
    upsert(conn, HOLDS, row, ["entity", "record_id"], ["pool_id", "user_id", "assigned_at", "counted", "reminded_at"])


def unhold(conn: sa.Connection, entity: str, ids: list[int]) -> list[tuple[int, int]]:
    """Forget the holds of ``ids``; the ``(pool_id, user_id)`` slots they counted in (to give back)."""
    if not ids:
        return []
    rows = conn.execute(
        sa.delete(HOLDS).where(HOLDS.c.entity == entity, ids_in(HOLDS.c.record_id, ids, conn.dialect.name)).returning(HOLDS.c.pool_id, HOLDS.c.user_id, HOLDS.c.counted)
    ).all()
    return [(r.pool_id, r.user_id) for r in rows if r.counted]


def cooldown_until(conn: sa.Connection, entity: str, record_id: int, user_id: int, now: datetime) -> datetime | None:
    found = conn.scalar(
        sa.select(COOLDOWNS.c.until).where(
            COOLDOWNS.c.entity == entity, COOLDOWNS.c.record_id == record_id, COOLDOWNS.c.user_id == user_id, COOLDOWNS.c.until > now
        )
    )
    return found


def start_cooldowns(conn: sa.Connection, entity: str, rows: list[tuple[int, int, datetime]]) -> None:
    """``(record_id, user_id, until)``: the user may not take the record again before ``until``."""
    upsert_many(conn, COOLDOWNS, [{"entity": entity, "record_id": record_id, "user_id": user_id, "until": until} for record_id, user_id, until in rows],
                ["entity", "record_id", "user_id"], ["until"])
