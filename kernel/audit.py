"""The audit log: one entry per write, in the write's own transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import inserts, outbox
from .models import AuditEntry

if TYPE_CHECKING:
    from .records import Actor

AUDIT = AuditEntry.__table__
#: Actions whose entry repeats a change the same write's own entry shows (a state move is also in the
#: ``update``): kept for the outbox and the audit log, left out of a record's history and activity.
REPEATS = ("transition",)
#: The largest entry id, asked after each batch of entries (SQLite): one statement, built once.
_LAST_ENTRY = sa.select(sa.func.max(AUDIT.c.id))
#: Types :func:`jsonable` gives back as they are.
JSON_SCALARS = frozenset({str, int, float, bool})


def jsonable(value: Any) -> Any:
    """A value as it can be kept in a JSON column and shown back to a person."""
    if value is None or type(value) in JSON_SCALARS:
        return value
    if type(value) is list:  # a record's lists (phones, tags): the commonest value after the scalars, mostly empty
        return [jsonable(v) for v in value] if value else []
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):  # an amount stays exact: decimal text, as the API writes it
        return format(value, "f")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def entry(actor: Actor, at: datetime, entity: str, record_id: int | None, action: str, changes: dict[str, Any]) -> dict[str, Any]:
    """One audit row, ready for :func:`write`."""
    row = {
        "at": at,
        "actor_id": actor.user_id,
        "actor": actor.label,
        "channel": actor.channel,
        "entity": entity,
        "record_id": record_id,
        "action": action,
        "changes": changes,
        "ip": actor.ip,
    }
    raised = getattr(actor, "raised_for", None)
    if raised:
        row["raised_for"] = raised
    return row


def write(conn: sa.Connection, entries: Iterable[dict[str, Any]]) -> None:
    """Insert audit entries; those about a write to a record are also its outbox events (:mod:`kernel.outbox`)."""
    rows = list(entries)
    own = [row for row in rows if "raised_for" not in row]  # the usual case; a system action's rows name why
    for batch in (own, [row for row in rows if "raised_for" in row]):
        if not batch:
            continue
        if any(outbox.is_event(row) for row in batch):
            outbox.append(conn, _insert(conn, batch), min(row["at"] for row in batch))
        else:
            inserts.insert_rows(conn, AUDIT, batch)


def _insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> Sequence[int]:
    """Insert audit rows and return their ids, in a number of statements that does not grow with the rows."""
    if len(rows) == 1:
        return conn.execute(sa.insert(AUDIT).returning(AUDIT.c.id), rows).scalars().all()
    if conn.dialect.name == "postgresql":  # ids taken from the sequence first, then one executemany
        taken = sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence(AUDIT.name, "id"))).select_from(sa.func.generate_series(1, len(rows)))
        ids = conn.scalars(taken).all()
        inserts.insert_rows(conn, AUDIT, [{**row, "id": i} for row, i in zip(rows, ids)])
        return ids
    inserts.insert_rows(conn, AUDIT, rows)  # SQLite: one writer, and a new rowid is the largest plus one
    top = conn.scalar(_LAST_ENTRY)
    return range(top - len(rows) + 1, top + 1)


def add_entry(conn: sa.Connection, actor: Actor, entity: str, record_id: int | None, action: str, changes: dict[str, Any], *, at: datetime) -> None:
    """Write one audit entry in the caller's transaction: something done to a record besides
    the kernel's own create, update, delete and actions (a merge, a failed reminder email).

    ``changes`` must be JSON-able (see :func:`jsonable`); ``at`` is usually ``site.clock.now()``.
    """
    write(conn, [entry(actor, at, entity, record_id, action, changes)])


def history(
    conn: sa.Connection, entity: str, record_id: int, *, limit: int = 50, offset: int = 0, since: datetime | None = None
) -> list[dict[str, Any]]:
    """A record's audit entries, newest first.

    Each is a dict with ``id``, ``at``, ``actor`` (a label), ``actor_id``, ``channel``,
    ``entity``, ``record_id``, ``action`` and ``changes`` (field → ``[old, new]``). The
    caller checks that its reader may see the record (``site.records.get``) first.
    ``since`` (the record's ``created_at``) leaves out entries of an earlier record that
    had the same id (before ids were kept for good on SQLite).
    """
    query = (
        sa.select(AUDIT)
        .where(
            AUDIT.c.entity == entity, AUDIT.c.record_id == record_id, AUDIT.c.action.not_in(REPEATS),
            *([AUDIT.c.at >= since] if since is not None else []),
        )
        .order_by(AUDIT.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


@dataclass(frozen=True)
class Search:
    """What to look for in the audit log; every field left ``None`` matches everything.

    The one query behind ``GET /api/v1/audit`` and the admin page ``/admin/audit``.
    """

    actor_id: int | None = None
    actor: str | None = None  # part of the actor's label (an email), any case
    entity: str | None = None
    record_id: int | None = None
    action: str | None = None
    channel: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        for name in ("actor_id", "record_id", "entity", "action", "channel"):
            value = getattr(self, name)
            if value is not None and value != "":
                found.append(AUDIT.c[name] == value)
        if self.actor:
            escaped = self.actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            found.append(sa.func.lower(AUDIT.c.actor).like(f"%{escaped}%", escape="\\"))
        if self.since is not None:
            found.append(AUDIT.c.at >= self.since)
        if self.until is not None:
            found.append(AUDIT.c.at < self.until)
        return found


def search(conn: sa.Connection, wanted: Search, *, limit: int | None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Matching entries, newest first, and how many match in all (``limit=None``: every one)."""
    conditions = wanted.conditions()
    query = sa.select(AUDIT).where(*conditions).order_by(AUDIT.c.id.desc()).limit(limit).offset(offset)
    total = conn.scalar(sa.select(sa.func.count()).select_from(AUDIT).where(*conditions)) or 0
    return [dict(row._mapping) for row in conn.execute(query)], total


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)
