"""Field masking: fields of some records hidden from some actors, on every read path.

A plugin declares masks through the ``register_masks`` hook::

    @hookimpl
    def register_masks():
        return [kernel.Mask("accounts", ("phone", "wechat"), when=unclaimed_for)]

    def unclaimed_for(actor, table):  # TRUE for the rows whose fields ``actor`` may not see
        return sa.and_(table.c.pool_id.is_not(None), table.c.owner_id.is_distinct_from(actor.user_id))

``when(actor, table)`` returns a SQLAlchemy condition over the entity's table (``None`` or
``False``: nothing is masked for this actor; ``True``: everything). With ``through="account_id"``
(a parent column of the entity, :mod:`kernel.parents`) ``when`` gets the *parent's* table and a child
row is masked when its parent row matches: a contact's phone hidden while its account's is.
A condition that is NULL for a row counts as TRUE (masked: the safe side). Fields are built-in
columns or custom fields (by name). Masks of several plugins add up (OR, per field).

What a masked actor gets, set-based in SQL so nothing is learned by filtering or ordering:

* the value reads as ``null`` (a custom field's key as ``null``), and the record lists the masked
  fields in ``"_masked": ["phone"]`` (absent when nothing is masked);
* a filter on a masked field never matches a masked record (not even ``=null``); a sort puts
  masked records where NULLs go; ``q`` matches a masked record only through fields it shows;
* aggregates group masked records into one bucket (``"masked": true``, labelled Hidden), and leave
  them out of ``sum``/``avg``/``min``/``max``/``count_distinct`` of a masked field;
* export, related lists, child rows, history and activity show the value as masked; a duplicate
  warning counts a masked look-alike as ``hidden`` instead of naming it;
* a PATCH that sends a masked field is refused (403 naming the field): one may not overwrite what
  one cannot see, and the answer must not tell whether the value sent was the stored one; so is a
  batch update that would, and a delete (the recycle bin shows a deleted record whole to its deleter).

System actors (jobs, the CLI: no user) and elevated actors (:meth:`Actor.elevated`) are never
masked; admins are masked when a plugin's ``when`` says so (it decides: a pool plugin would not mask
its pool admins). An entity no mask names costs nothing: its queries are left exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .customfields import FIELD_NAME
from .errors import Forbidden, PluginError

if TYPE_CHECKING:
    import pluggy

    from .entities import Entity
    from .records import Actor
    from .site import Site, View

#: The key a masked record lists its masked fields under.
MASKED = "_masked"
#: What the audit log and the UI show in place of a masked value.
HIDDEN = {"en": "Hidden", "zh_CN": "隐藏"}
_FLAG = "_mask_"

Condition = Callable[["Actor", sa.Table], "sa.ColumnElement[bool] | bool | None"]


@dataclass(frozen=True)
class Mask:
    """Fields of ``entity`` masked on the records ``when(actor, table)`` holds for (see the module).

    ``through``: a column of ``entity`` naming its parent (a fixed parent entity); ``when`` is then
    asked about the parent's table. ``reason``: a few words ``/access`` shows (``"unclaimed pool record"``).
    """

    entity: str
    fields: tuple[str, ...]
    when: Condition
    through: str | None = None
    reason: str = ""
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.fields, str):
            object.__setattr__(self, "fields", (self.fields,))
        object.__setattr__(self, "fields", tuple(self.fields))


def declared(pm: pluggy.PluginManager, entities: dict[str, Entity]) -> dict[str, tuple[Mask, ...]]:
    """Every plugin's ``register_masks`` answer, checked, per entity (each mask marked with its plugin)."""
    found: dict[str, list[Mask]] = {}
    for impl in reversed(pm.hook.register_masks.get_hookimpls()):
        for mask in impl.function() or ():
            if not isinstance(mask, Mask):
                raise PluginError(f"plugin {impl.plugin_name}: register_masks must return Mask objects, not {type(mask).__name__}")
            object.__setattr__(mask, "plugin", impl.plugin_name)
            _check(mask, entities)
            found.setdefault(mask.entity, []).append(mask)
    return {name: tuple(masks) for name, masks in found.items()}


def _check(mask: Mask, entities: dict[str, Entity]) -> None:
    where = f"plugin {mask.plugin}: mask on {mask.entity!r}"
    entity = entities.get(mask.entity)
    if entity is None:
        raise PluginError(f"{where}: no such entity (require the plugin that registers it)")
    if not mask.fields:
        raise PluginError(f"{where}: name at least one field")
    for name in mask.fields:
        if name in ("id", "custom") or name == entity.owner_field or (name not in entity.columns and not FIELD_NAME.match(name)):
            raise PluginError(f"{where}: {name!r} cannot be masked")
    if mask.through is not None and _parent(entities, entity, mask.through) is None:
        raise PluginError(f"{where}: through={mask.through!r} is not a column naming a parent of a fixed entity")


def _parent(entities: dict[str, Entity], entity: Entity, column: str) -> Entity | None:
    ref = next((r for r in entity.parents if r.column == column and r.entity is not None), None)
    return entities.get(ref.entity) if ref is not None and ref.entity is not None else None


def exempt(actor: Actor) -> bool:
    """System and elevated actors see every value."""
    return actor.raised_for is not None or (actor.user_id is None and actor.role == "admin")


@dataclass
class Masking:
    """What is masked of one entity for one actor: per field, the SQL condition of the masked rows.

    Built once per query (:func:`for_actor`); every row's answer is computed by the database.
    """

    entity: Entity
    fields: dict[str, sa.ColumnElement[bool]]  # field name -> "masked on this row"
    applied: list[tuple[Mask, sa.ColumnElement[bool]]]  # each mask that may apply, with its condition
    dialect: str

    @property
    def built_in(self) -> list[str]:
        return [name for name in self.fields if name in self.entity.columns]

    @property
    def custom(self) -> list[str]:
        return [name for name in self.fields if name not in self.entity.columns]

    def expression(self, name: str, expression: Any) -> Any:
        """``expression`` (a field's SQL) as the actor sees it: NULL on masked rows."""
        condition = self.fields.get(name)
        if condition is None:
            return expression
        return sa.case((condition, sa.null()), else_=expression)

    def filtered(self, name: str, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        """A filter on field ``name``: never true on a row where it is masked."""
        masked = self.fields.get(name)
        return condition if masked is None else sa.and_(sa.not_(masked), condition)

    def any_masked(self, names: Iterable[str] | None = None) -> sa.ColumnElement[bool]:
        conditions = [c for n, c in self.fields.items() if names is None or n in names]
        return sa.or_(*conditions) if conditions else sa.false()

    def columns(self, table: sa.Table) -> list[Any]:
        """The SELECT list of the whole row as the actor sees it, then one flag per masked field."""
        shown: list[Any] = []
        for column in table.columns:
            if column.name in self.fields:
                shown.append(sa.type_coerce(self.expression(column.name, column), column.type).label(column.name))
            elif column.name == "custom" and self.custom:
                shown.append(self._custom(column).label("custom"))
            else:
                shown.append(column)
        return [*shown, *self.flags()]

    def flags(self) -> list[Any]:
        return [sa.case((condition, 1), else_=0).label(f"{_FLAG}{i}") for i, condition in enumerate(self.fields.values())]

    def _custom(self, column: Any) -> Any:
        expression: Any = column
        for name in self.custom:
            key = sa.bindparam(None, name if self.dialect == "postgresql" else f'$."{name}"', type_=sa.String)
            removed = expression.op("-")(key) if self.dialect == "postgresql" else sa.func.json_remove(expression, key)
            expression = sa.case((self.fields[name], removed), else_=expression)
        return sa.type_coerce(expression, column.type)

    def take_flags(self, row: dict[str, Any]) -> list[str]:
        """The fields masked on ``row`` (a row read with :meth:`flags` besides its columns); the flags are
        taken off it."""
        return [name for i, name in enumerate(self.fields) if row.pop(f"{_FLAG}{i}")]

    def record(self, mapping: Any) -> dict[str, Any]:
        """A record out of a row selected with :meth:`columns`: masked values ``None``, ``_masked`` listed."""
        record = {name: mapping[name] for name in self.entity.columns}
        masked = [name for i, name in enumerate(self.fields) if mapping[f"{_FLAG}{i}"]]
        return hide(record, masked, self.entity)


def hide(record: dict[str, Any], masked: Sequence[str], entity: Entity) -> dict[str, Any]:
    """``record`` with the ``masked`` fields set to ``None`` and listed under ``_masked``."""
    if not masked:
        return record
    record = dict(record)
    custom = dict(record.get("custom") or {})
    for name in masked:
        if name in entity.columns:
            record[name] = None
        else:
            custom[name] = None
    if "custom" in record:
        record["custom"] = custom
    record[MASKED] = list(masked)
    return record


def for_actor(site: Site, view: View, actor: Actor, entity: Entity) -> Masking | None:
    """What is masked of ``entity`` for ``actor``; ``None`` when nothing can be (the query stays as it is)."""
    masks = view.masks.get(entity.name) if view.masks else None
    if not masks or exempt(actor):
        return None
    fields: dict[str, list[sa.ColumnElement[bool]]] = {}
    applied = []
    for mask in masks:
        condition = _condition(view, actor, entity, mask)
        if condition is None:
            continue
        applied.append((mask, condition))
        for name in mask.fields:
            fields.setdefault(name, []).append(condition)
    if not fields:
        return None
    combined = {name: (conditions[0] if len(conditions) == 1 else sa.or_(*conditions)) for name, conditions in fields.items()}
    return Masking(entity, combined, applied, site.engine.dialect.name)


def _condition(view: View, actor: Actor, entity: Entity, mask: Mask) -> sa.ColumnElement[bool] | None:
    parent = _parent(view.entities, entity, mask.through) if mask.through else None
    if mask.through and parent is None:
        return None
    answer = mask.when(actor, parent.table if parent is not None else entity.table)
    if answer is None or answer is False:
        return None
    if answer is True:
        return sa.true()
    masked = answer.is_not(sa.false())  # NULL counts as masked
    if parent is not None:
        assert mask.through is not None
        return entity.table.c[mask.through].in_(sa.select(parent.table.c.id).where(masked))
    return masked


def masked_fields(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, ids: Sequence[int], masking: Masking | None = None) -> dict[int, list[str]]:
    """Per record id of ``ids``, the fields masked for ``actor`` (only ids with some), in one query."""
    masking = masking or for_actor(site, site.view, actor, entity)
    if masking is None or not ids:
        return {}
    table = entity.table
    names = list(masking.fields)
    rows = conn.execute(sa.select(table.c.id, *masking.flags()).where(table.c.id.in_(sorted(set(ids)))))
    found = {}
    for row in rows:
        masked = [name for i, name in enumerate(names) if row._mapping[f"{_FLAG}{i}"]]
        if masked:
            found[row.id] = masked
    return found


def mask_records(
    site: Site, conn: sa.Connection, actor: Actor, entity: Entity, records: list[dict[str, Any]], *, masked: dict[int, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Loaded ``records`` (and their child rows) as ``actor`` may see them: one query per entity that has masks.
    ``masked``: the records' own masked fields by id, when read with them (:meth:`Masking.take_flags`)."""
    view = site.view
    if masked is None:
        masked = masked_fields(site, conn, actor, entity, [r["id"] for r in records])
    shown = [hide(r, masked.get(r["id"], []), entity) for r in records]
    for kids in entity.children:
        child = view.entities.get(kids.entity)
        if child is None or not view.masks.get(child.name):
            continue
        rows = [row for record in shown for row in record.get(kids.name) or () if "id" in row]
        hidden = masked_fields(site, conn, actor, child, [row["id"] for row in rows])
        if hidden:
            for record in shown:
                record[kids.name] = [hide(row, hidden.get(row["id"], []), child) if "id" in row else row for row in record.get(kids.name) or ()]
    return shown


def refuse_masked_changes(record: dict[str, Any], changes: dict[str, Any], entity: Entity) -> None:
    """403 when ``changes`` sends a field masked on ``record`` (a record as :func:`hide` left it)."""
    masked = record.get(MASKED) or ()
    sent = [name for name in masked if name in changes or name in (changes.get("custom") or {})]
    if sent:
        details = [{"loc": [name] if name in entity.columns else ["custom", name], "msg": "masked for you: it cannot be changed"} for name in sent]
        raise Forbidden(f"{sent[0]}: this field is masked for you on {entity.name} record {record['id']}; it cannot be changed", details)


def masked_changes(changes: dict[str, Any], masked: Sequence[str], entity: Entity) -> dict[str, Any]:
    """An audit entry's ``changes`` with the masked fields' values replaced by ``None``, listed in ``_masked``."""
    keys = {name if name in entity.columns else f"custom.{name}" for name in masked}
    hit = [key for key in changes if key in keys]
    if not hit:
        return changes
    shown = {key: ([None, None] if key in keys else value) for key, value in changes.items()}
    shown[MASKED] = hit
    return shown


def explain(site: Site, actor: Actor, entity: Entity, record_id: int) -> list[dict[str, Any]]:
    """For ``/access``: each mask declared on ``entity``, whether it applies to this record for ``actor``, and why."""
    masks = site.view.masks.get(entity.name) if site.view.masks else None
    if not masks:
        return []
    masking = None if exempt(actor) else for_actor(site, site.view, actor, entity)
    applied = {id(mask): condition for mask, condition in (masking.applied if masking else [])}
    answer = []
    table = entity.table
    with site.engine.connect() as conn:
        for mask in masks:
            condition = applied.get(id(mask))
            matched = condition is not None and conn.scalar(sa.select(table.c.id).where(table.c.id == record_id, condition)) is not None
            answer.append({
                "plugin": mask.plugin, "fields": list(mask.fields), "masked": matched,
                "reason": mask.reason or None, "through": mask.through,
                "detail": "system or elevated actor: never masked" if exempt(actor) else (None if condition is not None else "does not apply to this user"),
            })
    return answer


def masked_history(record: dict[str, Any], entries: list[dict[str, Any]], entity: Entity | None = None, key: str | None = None) -> list[dict[str, Any]]:
    """Audit entries of ``record`` (as :func:`hide` left it) with its masked fields' values hidden.

    ``key``: where an entry keeps its changes, when not at ``"changes"`` (``("data", "changes")``
    of an activity entry is ``key="data"``).
    """
    masked = record.get(MASKED)
    if not masked:
        return entries
    columns = set(entity.columns) if entity is not None else set(record) - {"custom"}
    keys = {name if name in columns else f"custom.{name}" for name in masked}
    shown = []
    for entry in entries:
        holder = entry.get(key) if key else entry
        changes = holder.get("changes") if isinstance(holder, dict) else None
        if isinstance(changes, dict) and keys & set(changes):
            hidden = {k: ([None, None] if k in keys else v) for k, v in changes.items()}
            hidden[MASKED] = sorted(keys & set(changes))
            holder = {**holder, "changes": hidden}
            entry = {**entry, key: holder} if key else holder
        shown.append(entry)
    return shown


def searched(masks: Masking, fields: Any, terms: Sequence[Any]) -> sa.ColumnElement[bool]:
    """``q`` on a list: a record with a masked searched field matches only through the fields it shows.

    Every term must be found (case-insensitive substring) in a searched field not masked on the
    row; records with no masked searched field keep the search index's answer alone.
    """
    from .customfields import field_expression
    from .search import searched_fields

    built_in, custom = searched_fields(masks.entity, fields)
    searched_names = [*built_in, *custom]
    hidden = [name for name in searched_names if name in masks.fields]
    if not hidden:
        return sa.true()
    table = masks.entity.table
    expressions = {name: table.c[name] for name in built_in}
    expressions.update({name: field_expression(fields[name], masks.dialect) for name in custom})
    each_term = []
    for term in terms:
        pattern = "%" + term.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found = []
        for name in searched_names:
            like = sa.func.lower(sa.cast(expressions[name], sa.String)).like(pattern, escape="\\")
            found.append(masks.filtered(name, like))
        each_term.append(sa.or_(*found) if found else sa.false())
    return sa.or_(sa.not_(masks.any_masked(hidden)), sa.and_(*each_term))


def refuse_masked_batch(conn: sa.Connection, masks: Masking, changes: dict[str, Any], selection: Sequence[sa.ColumnElement[bool]]) -> None:
    """A batch update (:mod:`kernel.batches`): 403 when it would write a field masked on one of its rows."""
    touched = [name for name in masks.fields if name in changes or name in (changes.get("custom") or {})]
    if not touched:
        return
    table = masks.entity.table
    hit = conn.execute(sa.select(table.c.id, *masks.flags()).where(*selection, masks.any_masked(touched)).limit(1)).first()
    if hit is not None:
        names = list(masks.fields)
        field_ = next(name for i, name in enumerate(names) if name in touched and hit._mapping[f"{_FLAG}{i}"])
        loc = [field_] if field_ in masks.entity.columns else ["custom", field_]
        raise Forbidden(
            f"{field_}: this field is masked for you on {masks.entity.name} record {hit.id}; it cannot be changed",
            [{"loc": loc, "msg": "masked for you: it cannot be changed"}],
        )


def refuse_masked_delete(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, ids: Sequence[int]) -> None:
    """403 for deleting a record with fields masked for ``actor``: the recycle bin shows a deleted
    record, as it was, to whoever deleted it."""
    masked = masked_fields(site, conn, actor, entity, ids)
    if masked:
        first = min(masked)
        raise Forbidden(
            f"you may not delete {entity.name} record {first}: some of its fields are masked for you ({', '.join(masked[first])})",
            [{"loc": ["ids"] if len(ids) > 1 else ["id"], "msg": "has fields masked for you"}],
        )


def ranked(masks: Masking, fields: Any, rank: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """A search's ranking (:meth:`kernel.search.Search.rank`, from the whole document) with records
    that have a masked searched field ranked last among the matches: their rank would tell about the value."""
    from .search import searched_fields

    built_in, custom = searched_fields(masks.entity, fields)
    hidden = [name for name in (*built_in, *custom) if name in masks.fields]
    return sa.case((masks.any_masked(hidden), 4), else_=rank) if hidden else rank
