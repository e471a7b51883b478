"""Child rows written with their parent: order lines, instalments, stages.

An :class:`~kernel.entities.Entity` declares ``children=(Children(...),)``: rows of
another entity (the child) whose table holds the parent's id in ``parent_field``.
They travel inside the parent, under the declaration's ``name``:

* ``POST /api/v1/E`` ``{"...": ..., "lines": [{...}, {...}]}`` creates the record and its rows;
* ``PATCH /api/v1/E/{id}`` ``{"lines": [...]}`` edits them, row by row: ``{...}`` (no ``id``) adds a
  row, ``{"id": 5, "qty": 2}`` changes the fields sent, ``{"id": 5, "_delete": true}`` removes one.
  Rows left out of the list are left alone (a partial list never deletes anything);
* ``GET /api/v1/E/{id}`` (and the create and update answers) carry the rows, in ``order_by`` order.

Each call is one transaction and one audit entry, the parent's: its ``changes`` name
each row (``lines.12`` → ``[null, {...}]`` added, ``[{...}, null]`` removed,
``lines.12.qty`` → ``[1, 2]`` changed). A wrong row value refuses the whole call with a
422 located at ``[name, index, field]``; a row id of another record is a 422 at
``[name, index, "id"]``. ``totals`` (parent column → ``"count"`` or ``"sum:FIELD"``) are
recomputed from the rows in the same transaction (Decimal stays Decimal), and are
read-only for callers. Writing rows needs the parent's ``update`` right (``create`` on
create) and its record scope; reading them follows the parent. The child entity's own
routes read only: its rows are written through the parent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pydantic
import sqlalchemy as sa

from . import parsing, search
from .db import Money
from .errors import ValidationError

if TYPE_CHECKING:
    from .entities import Entity, Labels
    from .site import Site, View

#: The key that marks a row for removal in a PATCH: ``{"id": 5, "_delete": true}``.
DELETE = "_delete"
_SYSTEM = frozenset({"id", "created_at", "updated_at"})


@dataclass(frozen=True)
class Children:
    """Rows of the entity ``entity`` that belong to one record of the declaring entity.

    ``name``: the key they travel under (``"lines"``); ``parent_field``: the child table's
    column holding the parent's id (the kernel sets it; leave it out of the child's input
    fields); ``totals``: parent column → ``"count"`` or ``"sum:FIELD"`` (a child column),
    recomputed whenever rows change; ``order_by``: the child column rows are listed by
    (then id); ``max_rows``: at most this many rows per record.

    ``compute(parent, row)`` returns derived values for a row being added or changed
    (``{"amount": ...}`` from quantity and price); ``check(parent, rows)`` sees the record
    as it will be stored and all its rows after the change, and raises
    :class:`~kernel.ValidationError` to refuse it. Both run inside the transaction.
    """

    name: str
    entity: str
    parent_field: str
    totals: dict[str, str] = field(default_factory=dict)
    order_by: str = "id"
    max_rows: int = 500
    compute: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    check: Callable[[dict[str, Any], list[dict[str, Any]]], None] | None = None
    label: Labels | None = None  # the form's heading; the child entity's plural label by default


def check_children(entities: dict[str, Entity]) -> None:
    """Refuse, at start-up, a ``children`` declaration the kernel could not honour."""
    owners: dict[str, str] = {}
    for entity in entities.values():
        names = set()
        for kids in entity.children:
            where = f"entity {entity.name!r}: children {getattr(kids, 'name', kids)!r}"
            if not isinstance(kids, Children):
                raise TypeError(f"{where}: give a Children")
            if kids.name in names or kids.name in entity.table.c or kids.name in entity.fields.model_fields:
                raise TypeError(f"{where}: the name is taken by another field or children")
            names.add(kids.name)
            child = entities.get(kids.entity)
            if child is None:
                raise TypeError(f"{where}: no enabled entity {kids.entity!r}")
            if kids.entity in owners or child.children or child is entity:
                raise TypeError(f"{where}: {kids.entity!r} is already the child of {owners.get(kids.entity, 'a record')!r}")
            owners[kids.entity] = entity.name
            columns = child.table.c
            if kids.parent_field not in columns or kids.parent_field in child.fields.model_fields:
                raise TypeError(f"{where}: {kids.parent_field!r} must be a column of {kids.entity!r} and not one of its input fields")
            if kids.order_by not in columns:
                raise TypeError(f"{where}: order_by {kids.order_by!r} is not a column of {kids.entity!r}")
            for total, measure in kids.totals.items():
                if total not in entity.table.c or total in entity.fields.model_fields:
                    raise TypeError(f"{where}: total {total!r} must be a column of {entity.name!r} and not one of its input fields")
                kind, _, source = measure.partition(":")
                if not (measure == "count" or (kind == "sum" and source in columns)):
                    raise TypeError(f"{where}: total {total!r} must be 'count' or 'sum:FIELD' with FIELD a column of {kids.entity!r}")


def parent_of(view: View, entity_name: str) -> tuple[Entity, Children] | None:
    """The entity whose children ``entity_name``'s records are, with the declaration; ``None`` if none."""
    for entity in view.entities.values():
        for kids in entity.children:
            if kids.entity == entity_name:
                return entity, kids
    return None


def refuse_direct(view: View, entity: Entity) -> None:
    """A child row is written through its parent: a direct write is a 422 saying where."""
    found = parent_of(view, entity.name)
    if found is not None:
        parent, kids = found
        raise ValidationError.at(
            ["entity"], f"{entity.name} rows are written with their {parent.name} record: send them as {kids.name!r} in POST or PATCH /api/v1/{parent.name}"
        )


def refuse_totals(entity: Entity, data: dict[str, Any]) -> None:
    """A caller may not send a total (422 naming it): the kernel computes it."""
    for kids in entity.children:
        for total in kids.totals:
            if total in data:
                raise ValidationError.at([total], f"read-only: computed from {kids.name!r}")


# -- what a call sent ------------------------------------------------------------------------


@dataclass
class _Row:
    index: int
    id: int | None
    values: dict[str, Any]  # built-in fields sent (validated: fully for an added row)
    custom: dict[str, Any] | None  # custom values sent, None: none
    delete: bool = False


def take(view: View, entity: Entity, data: Any, *, creating: bool) -> tuple[Any, dict[str, list[_Row]]]:
    """``data`` without its child lists, and those lists checked row by row (no database needed)."""
    if not entity.children or not isinstance(data, dict):
        return data, {}
    data = dict(data)
    refuse_totals(entity, data)
    sent: dict[str, list[_Row]] = {}
    for kids in entity.children:
        if kids.name not in data:
            continue
        raw = data.pop(kids.name)
        if not isinstance(raw, list):
            raise ValidationError.at([kids.name], "must be a list of rows")
        if len(raw) > kids.max_rows:
            raise ValidationError.at([kids.name], f"at most {kids.max_rows} rows")
        child = view.entities[kids.entity]
        rows, seen = [], set()
        for index, item in enumerate(raw):
            try:
                row = _one(view, child, item, creating)
            except ValidationError as exc:
                raise _at(exc, [kids.name, index]) from None
            if row.id is not None:
                if row.id in seen:
                    raise ValidationError.at([kids.name, index, "id"], f"row {row.id} is named twice")
                seen.add(row.id)
            row.index = index
            rows.append(row)
        sent[kids.name] = rows
    return data, sent


def _one(view: View, child: Entity, item: Any, creating: bool) -> _Row:
    if not isinstance(item, dict):
        raise ValidationError.at([], "must be an object")
    item = dict(item)
    row_id, delete = item.pop("id", None), item.pop(DELETE, False)
    if delete not in (True, False):
        raise ValidationError.at([DELETE], "must be true or false")
    if row_id is not None:
        if creating:
            raise ValidationError.at(["id"], "a new record's rows are new: leave id out")
        if not isinstance(row_id, int) or isinstance(row_id, bool) or row_id < 1:
            raise ValidationError.at(["id"], "must be a positive integer")
    elif delete:
        raise ValidationError.at([DELETE], "name the row to remove by its id")
    if delete:
        if item:
            raise ValidationError.at([next(iter(item))], "a removed row takes only id and _delete")
        return _Row(0, row_id, {}, None, delete=True)
    custom = item.pop("custom", None)
    if custom is not None:
        custom = view.fields(child.name).validate(custom)
    model = child.fields if row_id is None else child.update_fields
    try:
        checked = model.model_validate(item)
    except pydantic.ValidationError as exc:
        from .records import pydantic_details

        raise pydantic_details(exc) from None
    values = checked.model_dump() if row_id is None else checked.model_dump(exclude_unset=True)
    parsing.check_storable(values)
    if row_id is None and custom is not None:
        custom = {k: v for k, v in custom.items() if v is not None}
    return _Row(0, row_id, values, custom)


def _at(exc: ValidationError, prefix: list[Any]) -> ValidationError:
    details = [{**d, "loc": [*prefix, *d.get("loc", [])]} for d in exc.details] or [{"loc": prefix, "msg": exc.message}]
    first = details[0]
    return ValidationError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", details)


# -- planning and writing ----------------------------------------------------------------------


@dataclass
class Plan:
    """What one call does to one record's rows: checked, not yet written."""

    kids: Children
    child: Entity
    before: dict[int, dict[str, Any]]  # the stored rows, by id
    added: list[dict[str, Any]]
    changed: dict[int, dict[str, Any]]  # id → values to set
    removed: list[int]
    totals: dict[str, Any]

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def plan(
    conn: sa.Connection, site: Site, view: View, entity: Entity, parent_id: int | None, parent: dict[str, Any],
    sent: dict[str, list[_Row]], *, creating: bool,
) -> list[Plan]:
    """Check what ``sent`` does to the rows of record ``parent_id`` (``None``: a new record) and
    compute the totals; ``parent`` holds the record's values as they will be stored."""
    plans = []
    for kids in entity.children:
        if kids.name not in sent and not creating:
            continue
        child = view.entities[kids.entity]
        before = {r["id"]: r for r in _stored(conn, child, kids, [parent_id])} if parent_id is not None else {}
        after = dict(before)
        added, changed, removed = [], {}, []
        for row in sent.get(kids.name, []):
            try:
                if row.id is not None and row.id not in before:
                    raise ValidationError.at(["id"], f"no row {row.id} in this record's {kids.name}")
                if row.delete:
                    removed.append(row.id)
                    after.pop(row.id)
                    continue
                if row.id is None:
                    values = {**row.values, "custom": row.custom or {}}
                    if kids.compute:
                        values.update(kids.compute(parent, dict(values)) or {})
                    added.append(values)
                    continue
                stored = before[row.id]
                values = _checked(child, stored, row.values)
                if row.custom is not None:
                    merged = dict(stored.get("custom") or {})
                    for key, value in row.custom.items():
                        if value is None:
                            merged.pop(key, None)
                        else:
                            merged[key] = value
                    values["custom"] = merged
                if kids.compute:
                    values.update(kids.compute(parent, {**stored, **values}) or {})
                values = {k: v for k, v in values.items() if stored.get(k) != v}
                if values:
                    changed[row.id] = values
                    after[row.id] = {**stored, **values}
            except ValidationError as exc:
                raise _at(exc, [kids.name, row.index]) from None
        rows = [*after.values(), *added]
        if len(rows) > kids.max_rows:
            raise ValidationError.at([kids.name], f"at most {kids.max_rows} rows")
        for row, values in _sent_values(sent.get(kids.name, []), changed, added):
            try:
                _check_amounts(child, values)
                if values.get("custom"):  # references to other records must name existing ones
                    site.records._check_references(conn, view, child, [values["custom"]])
            except ValidationError as exc:
                raise _at(exc, [kids.name, row.index]) from None
        if kids.check is not None:
            kids.check(parent, rows)
        plans.append(Plan(kids, child, before, added, changed, removed, _totals(entity, kids, rows)))
    return plans


def plan_new(
    conn: sa.Connection, site: Site, view: View, entity: Entity, cleaned: list[dict[str, Any]], sent: list[dict[str, list[_Row]]]
) -> list[list[Plan]]:
    """:func:`plan` for a batch of new records; their totals go into ``cleaned``."""
    if not entity.children:
        return []
    plans = []
    for index, (values, rows) in enumerate(zip(cleaned, sent)):
        try:
            found = plan(conn, site, view, entity, None, values, rows, creating=True)
        except ValidationError as exc:
            raise (exc if len(cleaned) == 1 else _at(exc, [index])) from None
        for p in found:
            values.update(p.totals)
        plans.append(found)
    return plans


def apply_new(
    conn: sa.Connection, site: Site, view: View, entity: Entity, plans: list[list[Plan]], records: list[dict[str, Any]], *, with_rows: bool
) -> list[dict[str, Any]]:
    """Write the rows of new ``records`` (``with_rows``: and put them in the records); each one's audit ``changes``."""
    if not plans:
        return [{} for _ in records]
    written = [apply(conn, site, view, found, record["id"]) for found, record in zip(plans, records)]
    if with_rows:
        attach(conn, view, entity, records)
    return written


def _sent_values(rows: list[_Row], changed: dict[int, dict[str, Any]], added: list[dict[str, Any]]) -> list[tuple[_Row, dict[str, Any]]]:
    """Each added or changed row with the values it will write."""
    new = iter(added)
    found = []
    for row in rows:
        if row.delete:
            continue
        if row.id is None:
            found.append((row, next(new)))
        elif row.id in changed:
            found.append((row, changed[row.id]))
    return found


def _check_amounts(child: Entity, values: dict[str, Any]) -> None:
    """An amount for a :class:`~kernel.db.Money` column must fit it (a 422, not a failed insert)."""
    for name, value in values.items():
        column = child.table.c.get(name)
        if column is None or value is None or not isinstance(column.type, Money):
            continue
        scale = column.type.scale
        amount = Decimal(value) if isinstance(value, Decimal | int) and not isinstance(value, bool) else None
        if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal(1).scaleb(-scale)):
            raise ValidationError.at([name], f"must be an amount with at most {scale} decimals")
        if abs(amount) >= Decimal(10) ** (18 - scale):
            raise ValidationError.at([name], "is too large (at most 18 digits)")


def _checked(child: Entity, stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    from .records import _checked_changes

    return _checked_changes(child, stored, sent) if sent else {}


def _totals(entity: Entity, kids: Children, rows: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = {}
    for total, measure in kids.totals.items():
        if measure == "count":
            totals[total] = len(rows)
            continue
        source = measure.partition(":")[2]
        found = [r.get(source) for r in rows if r.get(source) is not None]
        start: Any = Decimal(0) if any(isinstance(v, Decimal) for v in found) or _exact(entity.table.c[total]) else 0
        totals[total] = sum(found, start)
    return totals


def _exact(column: sa.Column[Any]) -> bool:
    try:
        return column.type.python_type is Decimal
    except NotImplementedError:
        return False


def apply(conn: sa.Connection, site: Site, view: View, plans: list[Plan], parent_id: int) -> dict[str, Any]:
    """Write ``plans`` to record ``parent_id``'s rows; the audit ``changes`` they make."""
    now = site.clock.now()
    changes: dict[str, Any] = {}
    for p in plans:
        table, kids, child = p.child.table, p.kids, p.child
        hidden = set(child.hidden) | {kids.parent_field, "created_at", "updated_at", "id"}
        if p.removed:
            conn.execute(sa.delete(table).where(table.c.id.in_(p.removed)))
            search.forget(conn, child.name, p.removed)
            for row_id in p.removed:
                changes[f"{kids.name}.{row_id}"] = [_shown(p.before[row_id], hidden), None]
        for row_id, values in p.changed.items():
            conn.execute(sa.update(table).where(table.c.id == row_id).values({**values, "updated_at": now}))
            for key, value in values.items():
                if key == "custom":
                    old = p.before[row_id].get("custom") or {}
                    for name in sorted(set(old) | set(value)):
                        if old.get(name) != value.get(name):
                            changes[f"{kids.name}.{row_id}.custom.{name}"] = [old.get(name), value.get(name)]
                elif key not in hidden:
                    changes[f"{kids.name}.{row_id}.{key}"] = [p.before[row_id].get(key), value]
        new_ids = []
        if p.added:
            rows = [{**values, kids.parent_field: parent_id, "created_at": now, "updated_at": now} for values in p.added]
            for row in conn.execute(sa.insert(table).returning(*table.c), rows):
                stored = dict(row._mapping)
                new_ids.append(stored["id"])
                changes[f"{kids.name}.{stored['id']}"] = [None, _shown(stored, hidden)]
        if child.searchable:
            fields = view.fields(child.name)
            search.write(conn, child, fields, _stored_ids(conn, child, new_ids), new=True)
            search.write(conn, child, fields, _stored_ids(conn, child, list(p.changed)))
    from .audit import jsonable

    return jsonable(changes)  # type: ignore[no-any-return]


def _shown(row: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in hidden and not (k == "custom" and not v)}


def _stored_ids(conn: sa.Connection, child: Entity, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    table = child.table
    return [dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.id.in_(ids)))]


def _stored(conn: sa.Connection, child: Entity, kids: Children, parent_ids: list[int]) -> list[dict[str, Any]]:
    table = child.table
    query = sa.select(table).where(table.c[kids.parent_field].in_(parent_ids)).order_by(table.c[kids.order_by], table.c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


# -- reading and deleting -------------------------------------------------------------------


def attach(conn: sa.Connection, view: View, entity: Entity, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` with each one's rows under each declaration's name (one query per declaration)."""
    if not entity.children or not records:
        return records
    for kids in entity.children:
        child = view.entities.get(kids.entity)
        if child is None:
            continue
        grouped: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in records}
        shown = [c for c in child.columns if c != kids.parent_field]
        for row in _stored(conn, child, kids, list(grouped)):
            grouped[row[kids.parent_field]].append({c: row[c] for c in shown})
        for record in records:
            record[kids.name] = grouped[record["id"]]
    return records


