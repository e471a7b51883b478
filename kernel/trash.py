"""The recycle bin (回收站): a deleted record waits here ``trash_days`` (default 30), restorable.

A delete (``site.records.delete`` / ``delete_many``) moves the whole row, hidden columns
included, into one kernel table, ``kernel_trash``, as JSON, with who deleted it and when,
and removes it from its own table; the rows of entities declared ``deleted_with_parent``
go with it (one level after another: a child's children too). ``site.records.restore``
puts them back with their ids, through the ``before_restore`` / ``after_restore`` hooks,
audited as ``restore`` and indexed for search again. The ``kernel.purge_trash`` job removes
what has waited longer than ``trash_days``.

Why a bin table and not a ``deleted_at`` column on every record table: a deleted row that
stays in its table is still seen by every unique index (a customer's e-mail could not be
used again), still satisfies foreign keys (a new row could point at a deleted record), and
every read — lists, counts, search, exports, aggregates, the parent rules, every plugin's
own SQL — would need one more condition, forgotten once and deleted data shows. Moved out,
the live tables stay exactly the live data. The price is paid at restore: a unique value
taken meanwhile (409 naming the field) or a record it points at that is gone (409) is
checked then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit, batchhooks, files, permissions, search, timers
from .entities import Entity, ParentRef, record_title
from .errors import Conflict, NotFound
from .models import TrashEntry

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site, View

TRASH = TrashEntry.__table__
CHUNK = 2000  # ids per IN (...) list
MAX_DEPTH = 4  # levels of rows that go with a deleted record
RESTORE = "restore"
JOB = "kernel.purge_trash"


def chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def children_of(view: View, entity: Entity) -> list[tuple[Entity, ParentRef]]:
    """The entities whose rows go to the bin with a record of ``entity``, with the reference naming it."""
    found = []
    for child in view.entities.values():
        if child.deleted_with_parent:
            found.extend((child, ref) for ref in child.parents if ref.entity in (None, entity.name))
    for kids in entity.children:  # rows written with the record (kernel.children) always go with it
        child = view.entities.get(kids.entity)
        if child is not None and not any(c is child and r.column == kids.parent_field for c, r in found):
            found.append((child, ParentRef(kids.parent_field, entity.name)))
    return found


# -- into the bin --------------------------------------------------------------------------------


def delete(site: Site, view: View, conn: sa.Connection, actor: Actor, entity: Entity, records: list[dict[str, Any]]) -> None:
    """Move ``records`` (whole rows, checked by the caller) and what goes with them into the bin, with
    the delete hooks and one audit entry per row. A bounded number of statements, whatever the count."""
    hooks = {"site": site, "conn": conn, "actor": actor}
    batchhooks.call(view.pm, "before_delete", "before_delete_many", records, entity=entity.name, **hooks)
    groups = [(entity, records, [None] * len(records))] + _descendants(conn, view, entity, records)
    for child, rows, _ in groups[1:]:
        batchhooks.call(view.pm, "before_delete", "before_delete_many", rows, entity=child.name, **hooks)
    now = site.clock.now()
    entries = []
    for group, rows, roots in groups:
        for row, root in zip(rows, roots):
            entries.append({
                "entity": group.name, "record_id": row["id"], "data": audit.jsonable(row),
                "with_entity": root[0] if root else None, "with_id": root[1] if root else None,
                "deleted_at": now, "deleted_by": actor.user_id, "deleted_by_label": actor.label,
            })
    conn.execute(sa.insert(TRASH), entries)
    for group, rows, _ in reversed(groups):  # children first: their foreign keys name the parents
        ids = [row["id"] for row in rows]
        for part in chunks(ids):
            conn.execute(sa.delete(group.table).where(group.table.c.id.in_(part)))
        search.forget(conn, group.name, ids)
        timers.on_delete(view, conn, group.name, ids)  # files stay with the binned row until it is purged
    audit.write(conn, (
        audit.entry(actor, now, group.name, row["id"], "delete", {k: [v, None] for k, v in audit.jsonable(_shown(group, row)).items()})
        for group, rows, _ in groups for row in rows
    ))
    for group, rows, _ in groups:
        batchhooks.call(view.pm, "after_delete", "after_delete_many", rows, entity=group.name, **hooks)


def _descendants(
    conn: sa.Connection, view: View, entity: Entity, records: list[dict[str, Any]]
) -> list[tuple[Entity, list[dict[str, Any]], list[tuple[str, int]]]]:
    """The rows that go with ``records``, level by level: (entity, rows, the deleted record each goes with)."""
    found: list[tuple[Entity, list[dict[str, Any]], list[tuple[str, int]]]] = []
    seen = {(entity.name, r["id"]) for r in records}
    level: list[tuple[Entity, dict[int, tuple[str, int]]]] = [(entity, {r["id"]: (entity.name, r["id"]) for r in records})]
    for _ in range(MAX_DEPTH):
        below: dict[str, tuple[Entity, list[dict[str, Any]], list[tuple[str, int]]]] = {}
        for parent, roots in level:
            for child, ref in children_of(view, parent):
                table = child.table
                for part in chunks(sorted(roots)):
                    query = sa.select(table).where(table.c[ref.column].in_(part))
                    if ref.entity_column is not None:
                        query = query.where(table.c[ref.entity_column] == parent.name)
                    if conn.dialect.name == "postgresql":
                        query = query.with_for_update()
                    for row in conn.execute(query.order_by(table.c.id)):
                        if (child.name, row.id) in seen:
                            continue
                        seen.add((child.name, row.id))
                        group = below.setdefault(child.name, (child, [], []))
                        group[1].append(dict(row._mapping))
                        group[2].append(roots[row._mapping[ref.column]])
        if not below:
            break
        found.extend(below.values())
        level = [(child, {row["id"]: root for row, root in zip(rows, roots)}) for child, rows, roots in below.values()]
    return found


def _shown(entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in entity.hidden}


# -- out of the bin ------------------------------------------------------------------------------


def mine(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """The bin entries ``actor`` may see and restore: its own deletions; an admin's, every one."""
    if permissions.is_admin(actor):
        return []
    return [sa.false()] if actor.user_id is None else [TRASH.c.deleted_by == actor.user_id]


def find(conn: sa.Connection, actor: Actor, entity: Entity, record_id: int, *, lock: bool = True) -> sa.Row[Any]:
    """The bin entry of a record ``actor`` deleted (an admin: anyone's); 404 otherwise, also for a
    row that went with another record (restore that one)."""
    query = sa.select(TRASH).where(TRASH.c.entity == entity.name, TRASH.c.record_id == record_id, *mine(actor))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    entry = conn.execute(query).first()
    if entry is None:
        raise NotFound(f"no {entity.name} record {record_id} in your recycle bin")
    if entry.with_entity is not None:
        raise NotFound(
            f"{entity.name} record {record_id} went to the recycle bin with {entry.with_entity} record {entry.with_id}; restore that one",
            [{"loc": ["id"], "msg": f"restore {entry.with_entity} record {entry.with_id}"}],
        )
    return entry


def stored(entity: Entity, entry: sa.Row[Any]) -> dict[str, Any]:
    """A bin entry's row as its table takes it (dates, amounts… back from JSON)."""
    columns = entity.table.c
    return {name: _column_value(columns[name], value) for name, value in entry.data.items() if name in columns}


def put_back(site: Site, view: View, conn: sa.Connection, actor: Actor, entity: Entity, entry: sa.Row[Any]) -> dict[str, Any]:
    """Restore ``entry`` and what went with it; returns the record as stored (visible columns)."""
    followers = conn.execute(
        sa.select(TRASH).where(TRASH.c.with_entity == entity.name, TRASH.c.with_id == entry.record_id).order_by(TRASH.c.id)
    ).all()
    groups: list[tuple[Entity, list[dict[str, Any]]]] = [(entity, [stored(entity, entry)])]
    for follower in followers:  # in the order they were deleted: a level after the one it belongs to
        child = view.entities.get(follower.entity)
        if child is None:
            raise Conflict(
                f"{follower.entity} records went to the bin with this one and their plugin is disabled; enable it to restore",
                [{"loc": ["id"], "msg": f"{follower.entity} is not enabled"}],
            )
        if groups[-1][0] is not child:
            groups.append((child, []))
        groups[-1][1].append(stored(child, follower))
    now = site.clock.now()
    for _, rows in groups:
        for row in rows:
            row["updated_at"] = now  # a restore is a write: the record's ETag changes
    hooks = {"site": site, "conn": conn, "actor": actor}
    coming = {(group.table.name, row["id"]) for group, rows in groups for row in rows}
    for group, rows in groups:
        view.pm.hook.before_restore(records=rows, entity=group.name, **hooks)
        check_unique(conn, group, rows)
        check_references(conn, group, rows, coming)
    for group, rows in groups:
        conn.execute(sa.insert(group.table), rows)
        search.write(conn, group, view.fields(group.name), rows, new=True)
        timers.on_create(site, view, conn, group.name, rows)
    audit.write(conn, (
        audit.entry(actor, now, group.name, row["id"], RESTORE, _restored_changes(group, row)) for group, rows in groups for row in rows
    ))
    conn.execute(sa.delete(TRASH).where(TRASH.c.id.in_([entry.id, *(f.id for f in followers)])))
    for group, rows in groups:
        view.pm.hook.after_restore(records=rows, entity=group.name, **hooks)
    record = groups[0][1][0]
    return {k: record[k] for k in entity.columns}


def _restored_changes(entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
    changes = {k: [None, v] for k, v in audit.jsonable(_shown(entity, row)).items() if k not in ("id", "custom") and v is not None}
    changes.update({f"custom.{k}": [None, v] for k, v in (row.get("custom") or {}).items()})
    return changes


def unique_sets(table: sa.Table) -> list[tuple[str, ...]]:
    """The column sets a unique constraint or index holds the table's rows to (``id`` aside)."""
    sets: list[tuple[str, ...]] = []
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            sets.append(tuple(c.name for c in constraint.columns))
    for index in table.indexes:
        if index.unique and all(isinstance(e, sa.Column) for e in index.expressions):
            sets.append(tuple(c.name for c in index.columns))
    sets.extend((c.name,) for c in table.columns if c.unique)
    return [s for s in dict.fromkeys(sets) if s and s != ("id",)]


def check_unique(conn: sa.Connection, entity: Entity, rows: list[dict[str, Any]]) -> None:
    """409 naming the field when a row's unique value is now another record's."""
    table = entity.table
    for names in unique_sets(table):
        keys = {tuple(row.get(n) for n in names) for row in rows}
        keys = {k for k in keys if None not in k}
        if not keys:
            continue
        columns = [table.c[n] for n in names]
        if len(names) == 1:
            condition = columns[0].in_([k[0] for k in keys])
        else:
            condition = sa.or_(*(sa.and_(*(c == v for c, v in zip(columns, key))) for key in keys))
        taken = conn.execute(sa.select(*columns).where(condition).limit(1)).first()
        if taken is not None:
            field = names[0] if len(names) == 1 else ", ".join(names)
            where = f"{entity.name} record" if len(rows) == 1 else f"a {entity.name} record that goes with it"
            raise Conflict(
                f"{field}: the value of this {where} is now used by another record; change that one first",
                [{"loc": [entity.name, *names] if where.startswith("a ") else list(names), "msg": "already taken by another record"}],
            )


def check_references(conn: sa.Connection, entity: Entity, rows: list[dict[str, Any]], coming: set[tuple[str, int]]) -> None:
    """409 naming the field when a row points (by a foreign key) at a record that is gone."""
    for key in entity.table.foreign_keys:
        target = key.column
        wanted = {row[key.parent.name] for row in rows if row.get(key.parent.name) is not None}
        wanted = {v for v in wanted if (target.table.name, v) not in coming}
        if not wanted:
            continue
        found = set(conn.scalars(sa.select(target).where(target.in_(sorted(wanted)))))
        if wanted - found:
            raise Conflict(
                f"{key.parent.name}: the record it belongs to ({target.table.name} {min(wanted - found)}) is gone; restore that first",
                [{"loc": [key.parent.name], "msg": "refers to a record that no longer exists"}],
            )


def _column_value(column: sa.Column[Any], value: Any) -> Any:
    if value is None:
        return None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if kind is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind is date and isinstance(value, str):
        return date.fromisoformat(value)
    if kind is time and isinstance(value, str):
        return time.fromisoformat(value)
    if kind is Decimal and isinstance(value, str | int):
        return Decimal(value)
    return value


# -- the list and the purge ----------------------------------------------------------------------


def listing(
    site: Site, conn: sa.Connection, actor: Actor, entities: Sequence[Entity], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the bin as ``actor`` sees it (newest first) and how many entries in all."""
    by_name = {e.name: e for e in entities}
    conditions = [TRASH.c.with_entity.is_(None), TRASH.c.entity.in_(sorted(by_name)), *mine(actor)]
    total = conn.scalar(sa.select(sa.func.count()).select_from(TRASH).where(*conditions)) or 0
    query = sa.select(TRASH).where(*conditions).order_by(TRASH.c.deleted_at.desc(), TRASH.c.id.desc()).limit(limit).offset(offset)
    entries = conn.execute(query).all()
    counts: dict[tuple[str, int], dict[str, int]] = {}
    if entries:
        keys = [(e.entity, e.record_id) for e in entries]
        grouped = (
            sa.select(TRASH.c.with_entity, TRASH.c.with_id, TRASH.c.entity, sa.func.count())
            .where(sa.tuple_(TRASH.c.with_entity, TRASH.c.with_id).in_(keys))
            .group_by(TRASH.c.with_entity, TRASH.c.with_id, TRASH.c.entity)
        )
        for with_entity, with_id, name, count in conn.execute(grouped):
            counts.setdefault((with_entity, with_id), {})[name] = count
    days = timedelta(days=site.settings.trash_days)
    items = [
        {
            "id": e.id,
            "entity": e.entity,
            "record_id": e.record_id,
            "title": record_title(by_name[e.entity], {**e.data, "id": e.record_id}),
            "record": _shown(by_name[e.entity], e.data),
            "children": counts.get((e.entity, e.record_id), {}),
            "deleted_at": e.deleted_at,
            "deleted_by": e.deleted_by,
            "deleted_by_label": e.deleted_by_label,
            "expires_at": e.deleted_at + days,
        }
        for e in entries
    ]
    return items, total


def purge(site: Site, now: datetime) -> int:
    """Remove for good what has been in the bin longer than ``trash_days`` as of ``now``; how many rows."""
    cutoff = now - timedelta(days=site.settings.trash_days)
    with site.write() as conn:
        files.remove_binned(conn, TRASH.c.deleted_at < cutoff)
        return conn.execute(sa.delete(TRASH).where(TRASH.c.deleted_at < cutoff)).rowcount or 0
