"""Set-based batch writes: one change applied to many records in a handful of statements.

``site.records.update_many(actor, entity, ids=[...] | where={...}, changes={...})`` is
``update`` for a batch, in one transaction, all or nothing:

* the same validation (the PATCH model, the full model per record, custom fields,
  references), the permission ``E.update`` (403), the ``authorize`` hook per record (one
  ``False`` refuses the batch, 403) and the write record rules (not widened through a parent);
* ``ids``: every id must be a record the actor may write, else 404 naming the first
  other one (``loc`` ``["ids", index]``) — a record the actor may not see is a 404, as
  for a single update; ``where`` (the list's filters, ``{"status": "open", "priority__gte": 3}``):
  the records matching it *among those the actor may write*; the others are not touched;
* the owner is not changed this way (``assign`` is: 422 as for ``update``);
* hooks: ``before_update_many``/``after_update_many`` once for the batch; a plugin that
  implements only ``before_update``/``after_update`` has those called once per record
  (they still see every change, at the cost of a call each);
* a record the change leaves as it was is not written; each changed record gets its
  audit entry, which is its outbox event (``ENTITY.updated``), inserted in bulk; search
  documents are rewritten in bulk when a searched field changed.

Statements do not grow with the number of records. When nothing needs the records in
Python (:func:`_set_based`: no plugin hooks the update, or says through :func:`concerned_with`
that this batch does not concern it; none authorizes; no validator of the record or of a changed field; plain text or integer
columns) the batch is SQL only: an ``INSERT … SELECT`` makes the audit entries (which are also
the events) from the rows as they were, another the ownership events of an owner change, one
``UPDATE`` writes them (on PostgreSQL the three and the rows' lock are one statement), the
outbox is handed the entries' ids as one range
(:func:`kernel.outbox.append`), and computed timers reading a changed field are re-computed
from the stored rows. Otherwise the records are
read once and checked in Python; the ids travel as one bound value (:func:`kernel.db.ids_in`)
and rows as one executemany each.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import sqlalchemy as sa

from . import audit, masking, optionlists, outbox, ownership, parents, records as _records, search, states, timers
from .db import ids_in
from .entities import Entity, entity_write_only
from .errors import NotFound, ValidationError
from .plugins import ESSENTIAL

F = TypeVar("F", bound=Callable[..., Any])
#: Hooks that need every record in hand: a batch with an implementation of one is read into Python.
_UPDATE_HOOKS = ("before_update", "after_update", "before_update_many", "after_update_many")

#: The attribute :func:`concerned_with` sets on a hook implementation.
CONCERNED = "crm_concerned_with"

if TYPE_CHECKING:
    from .records import Actor, Records
    from .site import View


def concerned_with(test: Callable[[Any, str, frozenset[str]], bool]) -> Callable[[F], F]:
    """Mark an update or create hook implementation (``before_update``, ``after_update`` and their
    ``_many`` forms; ``before_create``, ``after_create``) with the batches it has work in:
    ``test(site, entity, fields)`` answers ``False`` when the implementation would do nothing with
    such a batch. ``fields``: for an update, the names a batch changes; for a create, the names some
    record of the batch gives a value (not ``None``, ``""``, ``[]`` or ``{}``; ``"custom"`` for any custom
    value): for ``before_create`` as cleaned, before any ``before_create`` hook ran; for ``after_create``
    after them all.

    ``update_many`` writes a batch set-based (SQL only, see :mod:`kernel.batches`) when no
    implementation is concerned, and then does not call them; ``create_many`` does not call an
    implementation a batch does not concern, and, when no ``after_create`` one is concerned, does not
    read the new rows back (an import's batch: only their ids). An unmarked implementation is
    concerned with every batch. Put it under ``@hookimpl``::

        @hookimpl
        @concerned_with(lambda site, entity, fields: entity == "invoices" and "total" in fields)
        def after_update_many(site, conn, actor, entity, records, changes): ...
    """

    def mark(function: F) -> F:
        setattr(function, CONCERNED, test)
        return function

    return mark


def given_fields(rows: Sequence[dict[str, Any]]) -> frozenset[str]:
    """The names some row of a batch of new records gives a value (see :func:`concerned_with`).

    Asked twice per batch of an import: the names the first row leaves empty are compared as one
    tuple per row with the first row's (in C), and only the rows that differ are looked at name by name."""
    if not rows:
        return frozenset()
    first = rows[0]
    given = {name for name, value in first.items() if _is_given(value)}
    empty = tuple(name for name in first if name not in given)
    if len(rows) == 1:
        return frozenset(given)
    try:
        if empty:
            take = operator.itemgetter(*empty) if len(empty) > 1 else (lambda row, name=empty[0]: (row[name],))
            model = take(first)
            for values in filter(model.__ne__, map(take, rows)):
                given.update(name for name, value in zip(empty, values) if _is_given(value))
        if len(set().union(*rows)) != len(first):
            raise KeyError  # a row with names the first lacks: each looked at
    except KeyError:  # rows of a batch usually have the same names; these do not
        given.update(name for row in rows for name, value in row.items() if name not in given and _is_given(value))
    return frozenset(given)


def _is_given(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def concerned_caller(site: Any, view: View, hook: str, entity: str, fields: frozenset[str]) -> Any:
    """Hook ``hook`` restricted to the plugins with an implementation concerned with a batch of
    ``entity`` setting ``fields`` (:func:`concerned_with`); ``None`` when no implementation is."""
    caller = getattr(view.pm.hook, hook)
    concerned, not_concerned = set(), set()
    for impl in caller.get_hookimpls():
        test = getattr(impl.function, CONCERNED, None)
        (concerned if test is None or test(site, entity, fields) else not_concerned).add(impl.plugin)
    if not concerned:
        return None
    left_out = not_concerned - concerned
    return view.pm.subset_hook_caller(hook, remove_plugins=left_out) if left_out else caller


def per_record(caller: Any) -> Callable[..., None]:
    """Hook ``caller`` (not first-result) as a function called once per record of a batch: its
    implementations' functions called directly, in pluggy's order, sparing each record pluggy's
    per-call work (an import calls ``before_create`` for every row). With a wrapper among them, or
    keyword-only arguments, the hook itself (as :meth:`kernel.records.Records._authorizer` does)."""
    impls = caller.get_hookimpls()
    if any(impl.hookwrapper or impl.wrapper or impl.kwargnames for impl in impls):
        return caller  # type: ignore[no-any-return]
    ordered = [(impl.function, impl.argnames) for impl in reversed(impls)]

    def call(**kwargs: Any) -> None:
        for function, names in ordered:
            function(*[kwargs[name] for name in names])

    return call


def update_many(
    records: Records, actor: Actor, entity_name: str, *, ids: Sequence[Any] | None, where: dict[str, Any] | None,
    changes: Any, conn: sa.Connection | None, owner_change: Any = None,
) -> list[int]:
    """See the module. Returns the ids of the records changed, in id order.

    ``owner_change`` (:class:`kernel.ownership.OwnerChange`) lets the batch set the owner field:
    each record whose owner changes gets its ownership event (and its audit entry the change's
    action), set-based under the same conditions as any other batch."""
    view = records.site.view
    entity = records._entity(view, entity_name)
    if (ids is None) == (where is None):
        raise ValidationError.at(["ids"], "give either ids or where, not both")
    wanted = _checked_ids(ids) if ids is not None else None
    cleaned = records._clean_changes(view, entity, changes)
    optionlists.clean(view, entity, cleaned, {})  # an archived option is not set anew
    records._authorize(view, actor, entity, "update", None)
    masks = masking.for_actor(records.site, view, actor, entity) if view.masks else None
    if _set_based(records.site, view, entity, cleaned, owner_change is not None):
        cleaned = _records._checked_changes(entity, {}, cleaned)  # no validators: one record's check is every record's
        with records._transaction(conn) as tx:
            _check_new_owner(tx, entity, cleaned, owner_change)
            if masks and wanted != []:
                masking.refuse_masked_batch(tx, masks, cleaned, _conditions(records, view, actor, entity, wanted, where, tx.dialect.name))
            return _update_in_sql(records, tx, view, actor, entity, wanted, where, cleaned, owner_change)
    with records._transaction(conn) as tx:
        _check_new_owner(tx, entity, cleaned, owner_change)
        if masks and wanted != []:
            masking.refuse_masked_batch(tx, masks, cleaned, _conditions(records, view, actor, entity, wanted, where, tx.dialect.name))
        found = _selected(records, tx, view, actor, entity, wanted, where)
        if not found:
            return []
        if "custom" in cleaned:
            records._check_references(tx, view, entity, [cleaned["custom"]])
        changes = [_record_changes(records, view, actor, entity, record, cleaned, owner_change is not None) for record in found]
        _before(records, tx, view, actor, entity, found, changes)
        return _write(records, tx, view, actor, entity, found, changes, owner_change)


def _check_new_owner(tx: sa.Connection, entity: Entity, cleaned: dict[str, Any], owner_change: Any) -> None:
    """In an owner change, a new owner (not none) is an active user, as for ``assign`` (422 otherwise)."""
    if owner_change is not None and entity.owner_field is not None and cleaned.get(entity.owner_field) is not None:
        ownership.checked_owner(tx, cleaned[entity.owner_field], loc=entity.owner_field)


def _set_based(site: Any, view: View, entity: Entity, cleaned: dict[str, Any], owner_change: bool = False) -> bool:
    """Whether the batch can be checked and written without reading its records into Python:
    no plugin (besides the kernel, for entities not its own) authorizes, or hooks updates of this
    batch (an implementation marked with :func:`concerned_with` counts only when its test says the
    batch concerns it), the entity's model has no validators of the record or of a changed field (so
    one record's check is every record's), no state moves, and only unsearched text or integer columns (their audit values are
    the same in SQL and in Python); the owner field only in an owner change (``owner_change``).
    Computed timers that depend on a changed field are re-computed afterwards from the stored records."""
    hooks = view.pm.hook
    if entity.states is not None and entity.states.field in cleaned:
        return False  # state moves to check and record: per record
    kernel_entity = entity.plugin == ESSENTIAL  # the kernel's own hooks concern only its own entities (users, teams, roles)
    fields = frozenset(cleaned)
    for name in (*_UPDATE_HOOKS, "authorize"):
        for impl in getattr(hooks, name).get_hookimpls():
            if not kernel_entity and impl.plugin_name == ESSENTIAL:
                continue
            test = getattr(impl.function, CONCERNED, None) if name != "authorize" else None
            if test is None or test(site, entity.name, fields):
                return False
    decorators = entity.fields.__pydantic_decorators__
    if decorators.model_validators or decorators.validators or decorators.root_validators:
        return False
    if any(set(v.info.fields) & fields or "*" in v.info.fields for v in decorators.field_validators.values()):
        return False  # a field validator of a field the batch leaves alone changes nothing it writes (see _checked_changes)
    columns = entity.table.c
    for name in cleaned:
        if name not in columns or name in ("custom", "id") or name in entity.searchable or name in entity.hidden:
            return False
        if name == entity.owner_field and not owner_change:
            return False
        kind = _records._column_kind(columns[name].type)
        if kind not in ("string", "integer") or isinstance(columns[name].type, sa.Boolean):
            return False
    return bool(cleaned) and not entity_write_only(entity)


def _update_in_sql(
    records: Records, tx: sa.Connection, view: View, actor: Actor, entity: Entity, wanted: list[int] | None, where: dict[str, Any] | None,
    cleaned: dict[str, Any], owner_change: Any = None,
) -> list[int]:
    """The set-based path: the ownership events (in an owner change) and the audit entries (the
    events too) are made by one INSERT … SELECT each from the rows as they were, the rows by one
    UPDATE (on PostgreSQL all in one statement, :func:`_written_at_once`); then the computed timers
    depending on a changed field are re-computed."""
    table, dialect = entity.table, tx.dialect.name
    if wanted == []:
        return []
    conditions = _conditions(records, view, actor, entity, wanted, where, dialect)
    now = records.site.clock.now()
    new = {name: sa.bindparam(None, value, type_=table.c[name].type) for name, value in cleaned.items()}
    if dialect == "postgresql":
        written = _written_at_once(tx, actor, entity, wanted, conditions, cleaned, new, now, owner_change)
        if written is None:
            return []
        audit_ids, changed = written
    else:
        if wanted is not None:  # find those out of reach
            found = set(tx.scalars(sa.select(table.c.id).where(*conditions)))
            _refuse_missing(entity, wanted, found)
        differs = _differs(table.c, new)
        action = "update"
        if _moves_owner(entity, cleaned, owner_change):  # one ownership event per record whose owner changes
            event = _event_row(actor, entity, table.c, new, now, owner_change)
            moved = sa.select(*event.values()).where(*conditions, differs[entity.owner_field]).order_by(table.c.id)
            if tx.execute(sa.insert(ownership.EVENTS).from_select(list(event), moved)).rowcount:
                action = owner_change.action
        audit_row = _audit_row(actor, entity, table.c, new, now, dialect, action)
        source = sa.select(*audit_row.values()).where(*conditions, sa.or_(*differs.values())).order_by(table.c.id)
        insert = sa.insert(audit.AUDIT).from_select(list(audit_row), source)
        entries = audit.AUDIT.c.id
        # one writer at a time: this statement's entries are the ids after the largest one, and
        # the rows the UPDATE finds with the same conditions are those the entries were made from
        before = tx.scalar(sa.select(sa.func.coalesce(sa.func.max(entries), 0)))
        count = tx.execute(insert).rowcount
        if not count:
            return []
        audit_ids = range(before + 1, before + count + 1)
        update = sa.update(table).where(*conditions, sa.or_(*differs.values())).values({**cleaned, "updated_at": now})
        done = tx.execute(update).rowcount
        if done != count:  # cannot happen with one writer; a guard, since the ids are read from the entries
            raise RuntimeError(f"update_many on {entity.name}: {count} audit entries but {done} rows written")
        # the ids from the entries just made (a rowid range), not UPDATE … RETURNING: SQLite keeps a
        # RETURNING's rows in a temporary table first, which costs as much as the UPDATE; and as one JSON
        # array, since a row per id through the driver and SQLAlchemy costs about as much again
        made = sa.select(sa.func.json_group_array(audit.AUDIT.c.record_id)).where(entries.between(audit_ids.start, audit_ids.stop - 1))
        changed = sorted(orjson.loads(tx.scalar(made)))
    outbox.append(tx, audit_ids, now)
    timers.on_update_ids(records.site, view, tx, entity.name, changed, cleaned)
    return changed


def _written_at_once(
    tx: sa.Connection, actor: Actor, entity: Entity, wanted: list[int] | None, conditions: list[sa.ColumnElement[bool]],
    cleaned: dict[str, Any], new: dict[str, Any], now: Any, owner_change: Any,
) -> tuple[list[int], list[int]] | None:
    """PostgreSQL: lock the batch's rows, make the ownership events and the audit entries from them as
    they were and write the rows, in one statement; the entries' ids and the changed records' ids
    (``None`` when no record changes). A wanted id out of reach is a 404, and then nothing is written.

    One statement where there were four (the lock, two INSERT … SELECT and the UPDATE): each read
    the batch's records by their ids again (5,000 index look-ups, 15–20 ms a time over a million
    records) and was a round trip of its own. The rows are locked first (``locked``, a CTE every
    part reads) and read as locked. The UPDATE finds its rows by the batch's conditions (the ids'
    index), among the locked ones: the sub-statements of one statement run in no set order, and so
    the lock is read whole before a row is written, and a row locked after it changed is written as
    it was locked. Given ids, every wanted record or nothing: each part is conditional on how many rows were locked."""
    table = entity.table
    locked = sa.select(table.c.id, *(table.c[name] for name in cleaned)).where(*conditions).with_for_update().cte("locked")
    rows = locked.c
    whole: list[sa.ColumnElement[bool]] = []
    if wanted is not None:  # every wanted record, or no write at all
        whole.append(sa.select(sa.func.count()).select_from(locked).correlate(None).scalar_subquery() == len(wanted))
    differs = _differs(rows, new)
    parts: list[Any] = []
    action: Any = "update"
    if _moves_owner(entity, cleaned, owner_change):
        moving = differs[entity.owner_field]
        event = _event_row(actor, entity, rows, new, now, owner_change)
        moved = sa.select(*event.values()).where(*whole, moving).order_by(rows.id)
        parts.append(sa.insert(ownership.EVENTS).from_select(list(event), moved).cte("moved"))
        action = sa.case((sa.select(rows.id).where(moving).correlate(None).exists(), owner_change.action), else_="update")  # over all the rows
    audit_row = _audit_row(actor, entity, rows, new, now, "postgresql", action)
    made = sa.select(*audit_row.values()).where(*whole, sa.or_(*differs.values())).order_by(rows.id)
    entered = sa.insert(audit.AUDIT).from_select(list(audit_row), made).returning(audit.AUDIT.c.id, audit.AUDIT.c.record_id).cte("entered")
    changing = sa.or_(*_differs(table.c, new).values())
    among = table.c.id.in_(sa.select(rows.id).correlate(None))  # the rows as locked: read before any is written
    parts.append(sa.update(table).where(*conditions, among, changing, *whole).values({**cleaned, "updated_at": now}).cte("written"))
    statement = (
        sa.select(rows.id, entered.c.id.label("entry"))
        .select_from(locked.outerjoin(entered, entered.c.record_id == rows.id))
        .add_cte(*parts)
    )
    found, audit_ids, changed = set(), [], []
    for record_id, entry in tx.execute(statement):
        found.add(record_id)
        if entry is not None:
            audit_ids.append(entry)
            changed.append(record_id)
    if wanted is not None:
        _refuse_missing(entity, wanted, found)
    return (audit_ids, sorted(changed)) if changed else None


def _refuse_missing(entity: Entity, wanted: list[int], found: set[int]) -> None:
    """A 404 naming the first wanted id not ``found`` (out of the actor's reach, or no record)."""
    missing = next(((i, w) for i, w in enumerate(wanted) if w not in found), None)
    if missing is not None:
        raise NotFound(f"no {entity.name} record with id {missing[1]}", [{"loc": ["ids", missing[0]], "msg": "not found"}])


def _moves_owner(entity: Entity, cleaned: dict[str, Any], owner_change: Any) -> bool:
    return owner_change is not None and entity.owner_field in cleaned


def _differs(rows: Any, new: dict[str, Any]) -> dict[str, sa.ColumnElement[bool]]:
    """Per changed field: whether the row's value (``rows``: the table's columns or the locked rows') is not the new one."""
    return {name: rows[name].is_distinct_from(value) for name, value in new.items()}


def _event_row(actor: Actor, entity: Entity, rows: Any, new: dict[str, Any], now: Any, owner_change: Any) -> dict[str, Any]:
    """The columns of a record's ownership event, from the row as it was (``rows``: its columns)."""
    fixed = ownership.event(actor, now, entity.name, 0, None, None, owner_change.reason, owner_change)
    return {
        **{k: sa.bindparam(None, v, type_=ownership.EVENTS.c[k].type) for k, v in fixed.items() if k not in ("record_id", "from_owner", "to_owner")},
        "record_id": rows.id, "from_owner": rows[entity.owner_field], "to_owner": new[entity.owner_field],
    }


def _audit_row(actor: Actor, entity: Entity, rows: Any, new: dict[str, Any], now: Any, dialect: str, action: Any) -> dict[str, Any]:
    """The columns of a record's audit entry, from the row as it was (``rows``: its columns); ``action``
    a word, or an SQL expression choosing one."""
    differs = _differs(rows, new)
    array = sa.func.jsonb_build_array if dialect == "postgresql" else sa.func.json_array
    pairs = {name: array(rows[name], new[name]) for name in new}
    if len(new) == 1:
        changes = (sa.func.jsonb_build_object if dialect == "postgresql" else sa.func.json_object)(*next(iter(pairs.items())))
    elif dialect == "postgresql":
        changes = sa.func.jsonb_strip_nulls(sa.func.jsonb_build_object(*(x for n in new for x in (n, sa.case((differs[n], pairs[n]))))))
    else:  # json_patch drops the keys whose value is null: the fields this record already had
        changes = sa.func.json_patch("{}", sa.func.json_object(*(x for n in new for x in (n, sa.case((differs[n], pairs[n]))))))
    row = {
        "at": sa.bindparam(None, now, type_=audit.AUDIT.c.at.type),
        "actor_id": sa.bindparam(None, actor.user_id, type_=sa.BigInteger),
        "actor": sa.bindparam(None, actor.label, type_=sa.String),
        "channel": sa.bindparam(None, actor.channel, type_=sa.String),
        "entity": sa.bindparam(None, entity.name, type_=sa.String),
        "record_id": rows.id,
        "action": sa.bindparam(None, action, type_=sa.String) if isinstance(action, str) else action,
        "changes": changes,
        "ip": sa.bindparam(None, actor.ip, type_=sa.String),
    }
    raised = getattr(actor, "raised_for", None)
    if raised:  # an elevated actor's entries name why, as audit.entry does
        row["raised_for"] = sa.bindparam(None, raised, type_=sa.String)
    return row


def _checked_ids(ids: Sequence[Any]) -> list[int]:
    if isinstance(ids, str | bytes) or not isinstance(ids, Sequence):
        raise ValidationError.at(["ids"], "must be a list of record ids")
    for index, value in enumerate(ids):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValidationError.at(["ids", index], "must be a positive integer")
    return list(dict.fromkeys(ids))


def _conditions(
    records: Records, view: View, actor: Actor, entity: Entity, wanted: list[int] | None, where: dict[str, Any] | None, dialect: str,
) -> list[sa.ColumnElement[bool]]:
    """The batch's rows: the actor's write record rules (never widened through a parent), and the ids or filters."""
    with parents.writing():
        conditions = records._visible(view, actor, entity)
    if wanted is not None:
        conditions.append(ids_in(entity.table.c.id, wanted, dialect))
    elif not isinstance(where, dict):
        raise ValidationError.at(["where"], "must be an object of filters")
    else:
        masks = masking.for_actor(records.site, view, actor, entity)  # a filter on a masked field skips masked rows
        conditions.extend(_records.Query(entity, view.fields(entity.name), dialect, masks).filters(where))
    return conditions


def _selected(
    records: Records, tx: sa.Connection, view: View, actor: Actor, entity: Entity, wanted: list[int] | None, where: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """The records to change, locked on PostgreSQL, in id order; a 404 for a wanted id out of reach."""
    table = entity.table
    if wanted == []:
        return []
    conditions = _conditions(records, view, actor, entity, wanted, where, tx.dialect.name)
    query = sa.select(table).where(*conditions).order_by(table.c.id)
    if tx.dialect.name == "postgresql":
        query = query.with_for_update()
    found = [dict(row._mapping) for row in tx.execute(query)]
    if wanted is not None and len(found) < len(wanted):
        have = {r["id"] for r in found}
        index, missing = next((i, w) for i, w in enumerate(wanted) if w not in have)
        raise NotFound(f"no {entity.name} record with id {missing}", [{"loc": ["ids", index], "msg": "not found"}])
    return found


def _record_changes(
    records: Records, view: View, actor: Actor, entity: Entity, record: dict[str, Any], cleaned: dict[str, Any], owner_may_change: bool = False,
) -> dict[str, Any]:
    """The change for one record, as ``update`` would make it (full model, custom values merged)."""
    records._authorize(view, actor, entity, "update", record)
    if not owner_may_change:
        _records._refuse_owner_change(entity, record, cleaned)
    changes = _records._checked_changes(entity, record, dict(cleaned))
    if "custom" in changes:
        changes["custom"] = _records.merged_custom(record, changes["custom"])
    return changes


def _single_callers(view: View, name: str, batch_name: str) -> Any:
    """The ``name`` hook of the plugins that implement it but not ``batch_name``; None when there are none."""
    hook = getattr(view.pm.hook, name)
    batched = {impl.plugin_name for impl in getattr(view.pm.hook, batch_name).get_hookimpls()}
    single = {impl.plugin_name for impl in hook.get_hookimpls()} - batched
    if not single:
        return None
    others = [view.pm.get_plugin(n) for n in {impl.plugin_name for impl in hook.get_hookimpls()} - single]
    return view.pm.subset_hook_caller(name, remove_plugins=others)


def _before(
    records: Records, tx: sa.Connection, view: View, actor: Actor, entity: Entity, found: list[dict[str, Any]], changes: list[dict[str, Any]],
) -> None:
    site = records.site
    view.pm.hook.before_update_many(site=site, conn=tx, actor=actor, entity=entity.name, records=found, changes=changes)
    single = _single_callers(view, "before_update", "before_update_many")
    if single is not None:
        for record, change in zip(found, changes):
            single(site=site, conn=tx, actor=actor, entity=entity.name, record=record, changes=change)


def _write(
    records: Records, tx: sa.Connection, view: View, actor: Actor, entity: Entity, found: list[dict[str, Any]], changes: list[dict[str, Any]],
    owner_change: Any = None,
) -> list[int]:
    site = records.site
    now = site.clock.now()
    write_only = entity_write_only(entity)
    written, diffs, rows, moves, events = [], [], [], [], []
    owner_field = entity.owner_field
    for record, change in zip(found, changes):
        for name in write_only:
            change.pop(name, None)
        move = states.check_change(site, tx, actor, entity, record, change)  # may set the outcome column
        diff = _records._diff(record, change)
        if not diff:
            continue
        moves.append(move)
        values = {k: change[k] for k in diff if not k.startswith("custom.")}
        if any(k.startswith("custom.") for k in diff):
            values["custom"] = change["custom"]
        values["updated_at"] = now
        written.append({k: values.get(k, record[k]) for k in entity.columns})
        diffs.append(diff)
        rows.append(values)
        if owner_change is not None and owner_field in diff:
            reason = owner_change.reason
            events.append(ownership.event(actor, now, entity.name, record["id"], record[owner_field], values[owner_field], reason, owner_change))
    if not written:
        return []
    _store(tx, entity, written, rows)
    action = owner_change.action if owner_change is not None and events else "update"
    fields = view.fields(entity.name)
    searched = [r for r, d in zip(written, diffs) if any(k in entity.searchable or k.startswith("custom.") for k in d)]
    search.write(tx, entity, fields, searched)
    timers.on_update(site, view, tx, entity.name, written, diffs)
    audit.write(
        tx,
        (audit.entry(actor, now, entity.name, r["id"], action, audit.jsonable(_records._hide(entity, d))) for r, d in zip(written, diffs)),
    )
    ownership.write(tx, events)
    moved = [(record, move) for record, move in zip(written, moves) if move is not None]
    if moved:
        states.write_events(site, tx, actor, entity, moved)
    view.pm.hook.after_update_many(site=site, conn=tx, actor=actor, entity=entity.name, records=written, changes=diffs)
    single = _single_callers(view, "after_update", "after_update_many")
    if single is not None:
        for record, diff in zip(written, diffs):
            single(site=site, conn=tx, actor=actor, entity=entity.name, record=record, changes=diff)
    return [r["id"] for r in written]


def _store(tx: sa.Connection, entity: Entity, written: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """One UPDATE for the whole batch when every record takes the same values, else one executemany per set of columns."""
    table = entity.table
    first = rows[0]
    if all(row == first for row in rows):
        tx.execute(sa.update(table).where(ids_in(table.c.id, [r["id"] for r in written], tx.dialect.name)).values(first))
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record, row in zip(written, rows):
        groups.setdefault(tuple(sorted(row)), []).append({**{f"_{k}": v for k, v in row.items()}, "_id": record["id"]})
    for columns, params in groups.items():
        statement = sa.update(table).where(table.c.id == sa.bindparam("_id")).values({c: sa.bindparam(f"_{c}") for c in columns})
        tx.execute(statement, params)
