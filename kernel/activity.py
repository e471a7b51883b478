"""A record's activity timeline: its own audit entries and what plugins add through ``record_activity``.

Every source returns its newest ``offset + limit + 1`` entries; they are merged
newest first (ties by ``kind``, then ``record_id``, each source keeping its own
order) and cut to the page, so every page is exact without counting any source.
(A source should order entries of the same moment the same way, by ``kind`` then
``record_id``, descending; otherwise one of them can fall between two pages.)
An entry is ``{"at", "kind", "title", "entity", "record_id", "data"}``; the
record's own changes have the kind ``change``, their ``title`` is the audit
action (``create``, ``update``, an action name) and their ``data`` holds
``audit_id``, ``action``, ``actor``, ``actor_id``, ``channel`` and ``changes``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import masking
from .audit import AUDIT, REPEATS, jsonable
from .errors import ValidationError

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

MAX_LIMIT = 200
DEFAULT_LIMIT = 20
#: Every source reads offset + limit entries, so the offset is bounded.
MAX_OFFSET = 100_000
CHANGE = "change"
ENTRY_KEYS = frozenset({"at", "kind", "title", "entity", "record_id", "data"})


class MalformedActivity(TypeError):
    """A ``record_activity`` implementation answered something that is not a list of entries."""


def record_activity(
    site: Site, actor: Actor, entity: str, record_id: int, *, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> dict[str, Any]:
    """One page of the timeline of a record ``actor`` may see (404 otherwise), newest first.

    ``next_offset`` is the offset of the following page, or ``None`` on the last one.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.at(["query", "limit"], f"must be between 1 and {MAX_LIMIT}")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationError.at(["query", "offset"], f"must be a whole number between 0 and {MAX_OFFSET}")
    wanted = offset + limit + 1
    with site.engine.connect() as conn:
        record = site.records.history_record(actor, entity, record_id, conn=conn)
        entries = masking.masked_history(record, _changes(conn, entity, record["id"], wanted, record["created_at"]), site.view.entity(entity), key="data")
        answers = site.view.pm.hook.record_activity(
            site=site, conn=conn, actor=actor, entity=entity, record_id=record["id"], limit=wanted
        )
    for answer in answers:
        entries.extend(checked_entries(answer))
    entries.sort(key=lambda e: (e["at"], e["kind"], e["record_id"] or 0), reverse=True)
    return {
        "items": jsonable(entries[offset : offset + limit]),
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(entries) > offset + limit else None,
    }


def _changes(conn: sa.Connection, entity: str, record_id: int, wanted: int, since: datetime) -> list[dict[str, Any]]:
    """The record's own audit entries (none of an earlier record with the same id: see :func:`audit.history`)."""
    rows = conn.execute(
        sa.select(AUDIT)
        .where(AUDIT.c.entity == entity, AUDIT.c.record_id == record_id, AUDIT.c.at >= since, AUDIT.c.action.not_in(REPEATS))
        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
        .limit(wanted)
    )
    return [
        {
            "at": row.at,
            "kind": CHANGE,
            "title": row.action,
            "entity": entity,
            "record_id": record_id,
            "data": {"audit_id": row.id, "action": row.action, "actor": row.actor, "actor_id": row.actor_id, "channel": row.channel, "changes": row.changes or {}},
        }
        for row in rows
    ]


def checked_entries(answer: Any) -> list[dict[str, Any]]:
    """One plugin's answer as entries, or :class:`MalformedActivity` saying what is wrong with it."""
    if answer is None:
        return []
    if not isinstance(answer, list | tuple):
        raise MalformedActivity(f"a record_activity implementation must return a list of entries or None, not {type(answer).__name__}")
    return [_checked(entry) for entry in answer]


def _checked(entry: Any) -> dict[str, Any]:
    problem = _problem(entry)
    if problem:
        raise MalformedActivity(f"malformed record_activity entry ({problem}): {entry!r}")
    return {"title": "", "entity": None, "record_id": None, "data": {}, **entry}


def _problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "an entry must be a dict"
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        return f"unknown keys {unknown}"
    at, kind = entry.get("at"), entry.get("kind")
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        return "'at' must be a timezone-aware datetime"
    if not isinstance(kind, str) or not kind.strip() or len(kind) > 40:
        return "'kind' must be a short non-empty string"
    if not isinstance(entry.get("title", ""), str):
        return "'title' must be a string"
    target, target_id = entry.get("entity"), entry.get("record_id")
    if target is not None and not isinstance(target, str):
        return "'entity' must be an entity name or None"
    if target_id is not None and (isinstance(target_id, bool) or not isinstance(target_id, int)):
        return "'record_id' must be an integer or None"
    if (target is None) != (target_id is None):
        return "'entity' and 'record_id' go together"
    if not isinstance(entry.get("data", {}), dict):
        return "'data' must be a dict"
    return None
