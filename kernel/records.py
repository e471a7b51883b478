"""The one write path, and the query builder every list goes through.

Every create, update, delete and action — from the API, a UI form, an import
row or a job — is a call to :class:`Records`. One call is one transaction:

  built-in fields (pydantic) → custom fields (compiled JSON Schema)
  → ``authorize`` hook → ``before_*`` hooks (may veto) → the row and its audit
  entry → ``after_*`` hooks → commit.

A failure anywhere rolls the whole call back. Pass ``conn`` to join a larger
transaction (an action that creates related records, say).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pydantic
import sqlalchemy as sa

from . import aggregates, audit, batches, children, duplicates, files, inserts, masking, optionlists, ownership, parents, parsing, search, sequences, states, timers, trash, versions
from .customfields import FieldSet, normal_datetime, contains_expression, field_expression
from .db import Money, joined
from .entities import Entity, entity_write_only
from .errors import Forbidden, NotFound, RecordError, ValidationError
from . import messages

if TYPE_CHECKING:
    from .site import Site, View

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
CHANNELS = ("api", "ui", "import", "job", "cli", "system", "public")
#: What :meth:`Records.create_many` does about look-alike rows (``None``: it does not look).
ON_DUPLICATE = ("warn", "refuse")


@dataclass(frozen=True)
class Actor:
    """Who is acting, and through which channel; recorded in every audit entry."""

    user_id: int | None
    label: str
    role: str | None = None
    team_id: int | None = None
    channel: str = "api"
    ip: str | None = None
    #: why this actor holds the admin role it was not given (a system action, see :meth:`elevated`);
    #: every audit entry it writes keeps it. ``None``: the actor's own rights.
    raised_for: str | None = None
    #: Permissions (``"notes.create"``) held besides the role's: what a public route grants
    #: its visitor explicitly (see :meth:`external`).
    grants: frozenset[str] = frozenset()

    @classmethod
    def system(cls, channel: str = "system", *, job: str | None = None, on_behalf_of: "Actor | None" = None) -> "Actor":
        """The kernel itself (jobs, migrations, the CLI before anyone logs in), with every right.

        ``job`` names the job acting (``"sea.return_overdue"``): the audit log shows ``job:NAME`` as
        the actor and as the reason for its rights. ``on_behalf_of`` is the user the work is done for
        (an import they started): the audit names that user, with ``job:NAME`` as the reason.
        """
        if job is None and on_behalf_of is None:
            return cls(user_id=None, label=channel, role="admin", channel=channel)
        reason = f"job:{job}" if job else channel
        if on_behalf_of is not None:
            return replace(on_behalf_of.elevated(reason), channel="job" if job else channel)
        return cls(user_id=None, label=reason, role="admin", channel="job", raised_for=reason)

    def elevated(self, reason: str) -> "Actor":
        """This actor with every right, for one system action: ``actor.elevated("merge")``.

        For work the user's request implies but their role does not grant (a merge moving rows they
        cannot see). The audit log keeps naming the user, and records ``reason`` as why the rights were
        raised. Never hand an elevated actor to code that acts on the user's own choices.
        """
        reason = str(reason).strip()
        if not reason:
            raise ValueError("a system action needs a reason, e.g. 'merge'")
        if self.raised_for and self.raised_for != reason:
            reason = f"{self.raised_for} > {reason}"
        return replace(self, role="admin", raised_for=reason[:200])

    @classmethod
    def external(cls, route: str, ip: str | None = None, grants: Sequence[str] = ()) -> "Actor":
        """An anonymous visitor of a public route (channel ``public``): no user, no role, and no
        permission but ``grants`` (``["notes.create"]``) — so it sees no record at all.

        Audited as ``public ROUTE``; a route grants the least it needs, e.g. creating the one
        entity it names, never ``read``.
        """
        return cls(user_id=None, label=f"public {route}"[:254], role=None, channel="public", ip=ip, grants=frozenset(grants))

    def granting(self, *permissions: str) -> "Actor":
        """This actor also holding ``permissions`` (``"notes.create"``): what a public route grants."""
        return replace(self, grants=self.grants | frozenset(permissions))


class ValidatedRow:
    """A new record's values as :meth:`Records.validate_new` cleaned them, for :meth:`Records.create_many`
    to insert without validating again, as long as the fields it was checked against still hold."""

    __slots__ = ("data", "entity", "sent", "values", "view")

    def __init__(self, view: View, entity: str, data: Any, values: dict[str, Any], sent: Any):
        self.view, self.entity, self.data, self.values, self.sent = view, entity, data, values, sent

    def cleaned(self, view: View, entity: str) -> tuple[dict[str, Any], Any] | None:
        """A fresh copy of the values (hooks change them in place), or None when checked against other fields."""
        if view is not self.view or entity != self.entity:
            return None
        return {**self.values, "custom": dict(self.values["custom"])}, self.sent


@dataclass(frozen=True)
class Page:
    """One page of a list. ``total_exact`` false: more than ``total`` (the count cap) records match."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    total_exact: bool = True


def pydantic_details(exc: pydantic.ValidationError, prefix: Sequence[str | int] = (), errors: list[Any] | None = None) -> ValidationError:
    """Turn a pydantic error (or just ``errors``, some of its errors) into the contract's ``details`` list."""
    details = []
    for error in exc.errors(include_url=False) if errors is None else errors:
        loc = [*prefix, *error["loc"]]
        msg = "unknown field" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
        details.append({"loc": loc, "msg": msg, **messages.pydantic_reason(error)})
    first = details[0]
    return ValidationError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", details)


def dumped(model: pydantic.BaseModel) -> dict[str, Any]:
    """``model.model_dump()``: a copy of the instance's own dict when its class holds nothing ``model_dump``
    would convert or leave out (no nested model or dataclass, no serializer, no computed or excluded
    field), which is about ten times cheaper (an import dumps every row); else ``model_dump`` itself."""
    return dict(model.__dict__) if _dumps_as_is(type(model)) else model.model_dump()


@functools.cache
def _dumps_as_is(model: type[pydantic.BaseModel]) -> bool:
    schema = model.__pydantic_core_schema__
    return schema.get("type") == "model" and not schema.get("computed_fields") and not _converted(schema.get("schema"))


def _converted(node: Any) -> bool:
    """Whether part of a core schema is one ``model_dump`` converts: a model, a dataclass, a reference
    (a recursive model), anything with a serializer of its own, or a field it leaves out."""
    if isinstance(node, dict):
        if node.get("type") in ("model", "dataclass", "definitions", "definition-ref") or "serialization" in node or node.get("computed_fields") or node.get("serialization_exclude"):
            return True
        return any(_converted(value) for key, value in node.items() if key not in ("metadata", "ref"))
    if isinstance(node, list | tuple):
        return any(_converted(value) for value in node)
    return False


def _checked_changes(entity: Entity, record: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` checked by the entity's full input model (its constraints and validators).

    The partial model of a PATCH only checks types; the record as it would be after the
    change is validated here and the changed fields take their validated values. A stored
    value that today's rules refuse (data from before a rule existed) does not block
    changing other fields.
    """
    built_in = {k: v for k, v in changes.items() if k != "custom"}
    if not built_in:
        return changes
    model = entity.fields.model_fields
    merged = {k: record[k] for k in model if k in record and record[k] is not None and k not in built_in}
    merged.update(built_in)
    try:
        checked = entity.fields.model_validate(merged)
    except pydantic.ValidationError as exc:
        mine = [e for e in exc.errors(include_url=False) if not e["loc"] or e["loc"][0] in built_in]
        if mine:
            raise pydantic_details(exc, errors=mine) from None
        return changes
    dumped = checked.model_dump()
    return {**changes, **{k: dumped[k] for k in built_in}}


class Records:
    """Create, read, update, delete and act on the records of any enabled entity."""

    def __init__(self, site: Site):
        self.site = site

    # -- plumbing -------------------------------------------------------------------

    def _transaction(self, conn: sa.Connection | None) -> AbstractContextManager[sa.Connection]:
        return joined(self.site, conn)

    def _entity(self, view: View, name: str) -> Entity:
        entity = view.entities.get(name)
        if entity is None:
            raise NotFound(f"no entity named {name!r}", [{"loc": ["entity"], "msg": "unknown or disabled entity"}])
        return entity

    def _authorize(self, view: View, actor: Actor, entity: Entity, action: str, record: dict[str, Any] | None) -> None:
        answers = view.pm.hook.authorize(site=self.site, actor=actor, entity=entity.name, action=action, record=record)
        if False in answers:
            raise Forbidden(f"you may not {action} {entity.name}")

    def _authorizer(self, view: View, actor: Actor, entity: Entity, action: str) -> Callable[[dict[str, Any]], None]:
        """``_authorize(view, actor, entity, action, record)`` for each record of a batch, as a function of
        the record. An implementation that takes no ``record`` argument is handed the same arguments for
        every record, so it is asked once, now (its refusal raises here, before any record's turn); the
        others are asked per record, in the hook's order. With a wrapper among the implementations (it sees
        every call) or keyword-only arguments, each record asks the whole hook, as before."""
        impls = view.pm.hook.authorize.get_hookimpls()
        if any(impl.hookwrapper or impl.wrapper or impl.kwargnames for impl in impls):
            return lambda record: self._authorize(view, actor, entity, action, record)
        given = {"site": self.site, "actor": actor, "entity": entity.name, "action": action}
        ordered = impls[::-1]  # the order pluggy calls them in
        per_record = [impl for impl in ordered if "record" in impl.argnames]
        if False in [impl.function(*[given[name] for name in impl.argnames]) for impl in ordered if impl not in per_record]:
            raise Forbidden(f"you may not {action} {entity.name}")

        def authorize(record: dict[str, Any]) -> None:
            if False in [impl.function(*[record if name == "record" else given[name] for name in impl.argnames]) for impl in per_record]:
                raise Forbidden(f"you may not {action} {entity.name}")

        return authorize

    def authorize(self, actor: Actor, entity_name: str, action: str, record: dict[str, Any] | None) -> None:
        """Raise :class:`Forbidden` unless the ``authorize`` hooks let ``actor`` do ``action`` to ``record``
        (the role's permission and every plugin's veto; which records are in reach is :meth:`writable`'s)."""
        view = self.site.view
        self._authorize(view, actor, self._entity(view, entity_name), action, record)

    def _visible(self, view: View, actor: Actor, entity: Entity) -> list[sa.ColumnElement[bool]]:
        """Record-rule conditions for ``actor`` (from the ``record_filter`` hook), applied in SQL."""
        return [c for c in view.pm.hook.record_filter(site=self.site, actor=actor, entity=entity.name, table=entity.table) if c is not None]

    def visible(self, actor: Actor, entity_name: str) -> sa.ColumnElement[bool]:
        """The SQL condition on ``entity_name``'s table that holds for exactly the rows ``actor`` may see.

        The record rules every read of the kernel applies (role scope, plugins' ``record_rules``
        and ``record_filter``); use it in a plugin's own queries::

            notes = site.view.entity("notes").table
            query = sa.select(sa.func.count()).select_from(notes).where(site.records.visible(actor, "notes"))

        ``sa.true()`` when ``actor`` sees every row. It does not check the ``E.read``
        permission itself: see :func:`kernel.allowed`.
        """
        view = self.site.view
        conditions = self._visible(view, actor, self._entity(view, entity_name))
        return sa.and_(*conditions) if conditions else sa.true()

    def readable_ids(self, actor: Actor, entity_name: str, ids: Sequence[int], *, conn: sa.Connection | None = None) -> list[int]:
        """Those of ``ids`` that ``actor`` may read, in one query (none when the entity is disabled or not readable)."""
        view = self.site.view
        entity = view.entities.get(entity_name)
        wanted = sorted({int(i) for i in ids})
        if entity is None or not wanted:
            return []
        try:
            self._authorize(view, actor, entity, "read", None)
        except Forbidden:
            return []
        query = sa.select(entity.table.c.id).where(entity.table.c.id.in_(wanted), *self._visible(view, actor, entity))
        with self._reading(conn) as tx:
            return sorted(tx.scalars(query))

    def writable(self, actor: Actor, entity_name: str, record_id: int, *, conn: sa.Connection | None = None) -> bool:
        """Whether ``record_id`` is within the rules ``actor``'s update, delete and actions go by: a record
        readable only through its parent (:mod:`kernel.parents`) is not. The role's permissions are
        :func:`kernel.allowed`'s."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        with parents.writing():
            visible = self._visible(view, actor, entity)
        with self._reading(conn) as tx:
            return tx.scalar(sa.select(entity.table.c.id).where(entity.table.c.id == record_id, *visible)) is not None

    def find_duplicates(
        self, actor: Actor, entity_name: str, rows: Sequence[dict[str, Any]], *, conn: sa.Connection | None = None
    ) -> list[duplicates.Lookalikes]:
        """What looks like each of ``rows`` (candidates, not stored), as ``actor`` may know it.

        Asks every plugin's ``find_duplicates`` hook once for the whole batch, then one
        query per entity named keeps the look-alikes ``actor`` may read; the others are
        only counted (:class:`~kernel.duplicates.Lookalikes`). ``rows`` may be partial (a
        form being typed, say): a plugin compares whatever fields are there. The API's
        create, the web form and imports use this same answer.
        """
        view = self.site.view
        entity = self._entity(view, entity_name)
        try:  # a caller who may read the entity, or create records of it (an import, say)
            self._authorize(view, actor, entity, "read", None)
        except Forbidden:
            self._authorize(view, actor, entity, "create", None)
        candidates = duplicates.candidate_rows(rows)
        with self._reading(conn) as tx:
            return self._lookalikes(view, tx, actor, entity, candidates)

    def _lookalikes(
        self, view: View, conn: sa.Connection, actor: Actor, entity: Entity, rows: list[dict[str, Any]]
    ) -> list[duplicates.Lookalikes]:
        if not rows or not view.pm.hook.find_duplicates.get_hookimpls():
            return [duplicates.Lookalikes() for _ in rows]
        found = duplicates.ask_plugins(view, self.site, conn, entity.name, rows)
        return duplicates.as_seen_by(self, view, conn, actor, found)

    def _row(self, entity: Entity, row: sa.Row[Any]) -> dict[str, Any]:
        mapping = row._mapping
        return {name: mapping[name] for name in entity.columns}

    def _load(
        self, conn: sa.Connection, view: View, actor: Actor, entity: Entity, record_id: Any, *, lock: bool,
        masks: masking.Masking | None = None, stored: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The record ``record_id`` if ``actor``'s record rules let them see it (``lock``: change it; the row
        locked on PostgreSQL), else a 404 (403 when it is visible only through its parent).

        ``masks``: also read, in the same query, the mask flags a :meth:`masking.Masking.take_flags` takes
        off the answer. ``stored``: that record as the caller read it in ``conn`` with a row lock; it is
        not read again, only checked against the rules by id, and not even that when they let ``actor``
        see every record."""
        if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id < 1:
            raise NotFound(f"no {entity.name} record {record_id!r}", [{"loc": ["id"], "msg": "must be a positive integer"}])
        if lock:  # a write: the record's own rules, never widened through its parent
            with parents.writing():
                visible = self._visible(view, actor, entity)
        else:
            visible = self._visible(view, actor, entity)
        if stored is not None and stored.get("id") == record_id:
            if not visible or conn.scalar(sa.select(entity.table.c.id).where(entity.table.c.id == record_id, *visible)) is not None:
                return dict(stored)
            row = None
        else:
            query = sa.select(entity.table, *(masks.flags() if masks is not None else ())).where(entity.table.c.id == record_id, *visible)
            if lock and conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).first()
        if row is None:
            if lock and entity.parents and conn.scalar(sa.select(entity.table.c.id).where(entity.table.c.id == record_id, *self._visible(view, actor, entity))):
                raise Forbidden(f"{entity.name} record {record_id} is visible through its parent: you may read it, not change it")
            raise NotFound(f"no {entity.name} record with id {record_id}")
        return dict(row._mapping)

    def _seen(self, conn: sa.Connection, view: View, actor: Actor, entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` as ``actor`` is shown it (:mod:`kernel.masking`): its version, what a conflict answers."""
        return masking.mask_records(self.site, conn, actor, entity, [record])[0] if view.masks.get(entity.name) else record

    def _clean_create(self, view: View, entity: Entity, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationError.at(["body"], "must be a JSON object")
        data = dict(data)
        custom = data.pop("custom", {})
        if not isinstance(custom, dict):
            raise ValidationError.at(["custom"], "must be an object (leave it out for no custom values)")
        sequences.refuse_sent(entity, data)
        try:
            values = dumped(entity.fields.model_validate(data))
        except pydantic.ValidationError as exc:
            raise pydantic_details(exc) from None
        parsing.check_storable(values)
        fields = view.fields(entity.name)
        custom = fields.complete(custom)  # defaults filled in, required fields checked
        values["custom"] = {k: v for k, v in fields.validate(custom).items() if v is not None} if custom else {}
        optionlists.clean(view, entity, values)
        return values

    def _check_references(self, conn: sa.Connection, view: View, entity: Entity, customs: Sequence[dict[str, Any]]) -> None:
        fields = view.fields(entity.name)
        for field_ in fields.fields.values():
            if field_.kind != "reference":
                continue
            wanted = {c[field_.name] for c in customs if c.get(field_.name) is not None}
            if not wanted:
                continue
            target = view.entities.get(field_.schema["x-entity"])
            if target is None:
                raise ValidationError.at(["custom", field_.name], f"refers to {field_.schema['x-entity']!r}, which is not enabled")
            found = set(conn.scalars(sa.select(target.table.c.id).where(target.table.c.id.in_(wanted))))
            missing = sorted(wanted - found)
            if missing:
                raise ValidationError.at(["custom", field_.name], f"no {target.name} record with id {missing[0]}")

    # -- writes ---------------------------------------------------------------------

    def create(
        self, actor: Actor, entity_name: str, data: Any, *, conn: sa.Connection | None = None, on_duplicate: str | None = None
    ) -> dict[str, Any]:
        """Validate and insert one record; returns it as stored (see :meth:`create_many` for ``on_duplicate``)."""
        return self.create_many(actor, entity_name, [data], conn=conn, return_records=True, on_duplicate=on_duplicate)[0]

    def create_many(
        self,
        actor: Actor,
        entity_name: str,
        rows: Sequence[Any],
        *,
        conn: sa.Connection | None = None,
        return_records: bool = False,
        on_duplicate: str | None = None,
    ) -> list[Any]:
        """Validate and insert a batch in one transaction; returns the new ids (or records).

        The whole batch is refused if any row is wrong; the error's ``loc`` starts
        with the row's index when there is more than one row. A row may be a
        :class:`ValidatedRow` (:meth:`validate_new`'s answer): its values are not checked again.

        ``on_duplicate`` asks the ``find_duplicates`` hook about the validated rows before
        anything is inserted (:meth:`find_duplicates`): ``"warn"`` inserts them all and gives
        each returned record that looks like others a ``"warnings"`` list
        (``[{"code": "duplicate", "ids": [...], "hidden": N}]``); ``"refuse"`` inserts nothing
        and raises :class:`~kernel.duplicates.Duplicate` (409) if any row looks like others;
        ``None`` does not ask.
        """
        if on_duplicate not in (None, *ON_DUPLICATE):
            raise ValueError(f"on_duplicate must be None or one of {ON_DUPLICATE}, not {on_duplicate!r}")
        view = self.site.view
        entity = self._entity(view, entity_name)
        children.refuse_direct(view, entity)
        cleaned, sent = [], []
        for index, data in enumerate(rows):
            checked = data.cleaned(view, entity.name) if isinstance(data, ValidatedRow) else None
            if checked is not None:
                cleaned.append(checked[0])
                sent.append(checked[1])
                continue
            if isinstance(data, ValidatedRow):
                data = data.data
            try:
                data, rows_sent = children.take(view, entity, data, creating=True)
                cleaned.append(self._clean_create(view, entity, data))
                sent.append(rows_sent)
            except ValidationError as exc:
                if len(rows) == 1:
                    raise
                raise ValidationError(
                    f"row {index}: {exc.message}", [{**d, "loc": [index, *d["loc"]]} for d in exc.details]
                ) from None
        now = self.site.clock.now()
        write_only = entity_write_only(entity)
        with self._transaction(conn) as tx:
            self._check_references(tx, view, entity, [v["custom"] for v in cleaned])
            found = self._lookalikes(view, tx, actor, entity, cleaned) if on_duplicate else []
            if on_duplicate == "refuse" and any(found):
                raise duplicates.Duplicate(entity.name, found)
            before = batches.concerned_caller(self.site, view, "before_create", entity.name, batches.given_fields(cleaned))
            if before is not None:
                before = batches.per_record(before)
            if cleaned:  # an empty batch asks nothing
                authorize = self._authorizer(view, actor, entity, "create")
            for values in cleaned:
                authorize(values)
                if before is not None:
                    before(site=self.site, conn=tx, actor=actor, entity=entity.name, values=values)
                for name in write_only:
                    values.pop(name, None)
                values["created_at"] = values["updated_at"] = now
            moves = states.check_create(self.site, tx, actor, entity, cleaned)  # after the hooks: they may pick the state
            if entity.numbered:  # after the hooks (no plugin changes a number), in this transaction (no gaps)
                sequences.fill(tx, entity, cleaned, now)
            plans = children.plan_new(tx, self.site, view, entity, cleaned, sent)
            after = batches.concerned_caller(self.site, view, "after_create", entity.name, batches.given_fields(cleaned))
            if return_records or after is not None:
                records = [self._row(entity, row) for row in _insert_returning(tx, entity.table, cleaned)]
            else:  # an import: the stored values are the ones in hand, only the ids are new
                records = _as_stored(entity, cleaned, _insert_returning_ids(tx, entity.table, cleaned))
            search.write(tx, entity, view.fields(entity.name), records, new=True)
            rows_written = children.apply_new(tx, self.site, view, entity, plans, records, with_rows=return_records or after is not None)
            audit.write(
                tx,
                (
                    audit.entry(actor, now, entity.name, r["id"], "create", _created_changes(entity, r) | written)
                    for r, written in zip(records, rows_written)
                ),
            )
            timers.on_create(self.site, view, tx, entity.name, records)
            states.write_events(self.site, tx, actor, entity, list(zip(records, moves)), created=True)
            if after is not None:
                after = batches.per_record(after)
                for record in records:
                    after(site=self.site, conn=tx, actor=actor, entity=entity.name, record=record)
        if not return_records:
            return [r["id"] for r in records]
        for record, lookalikes in zip(records, found):
            if lookalikes:
                record["warnings"] = [lookalikes.warning(entity.name)]
        return records

    def validate_new(self, entity_name: str, data: Any) -> ValidatedRow:
        """Check one new record's values as :meth:`create_many` does before its transaction (built-in
        and custom fields, child rows), raising the same :class:`ValidationError`; no database is read.
        ``create_many`` takes the answer in place of ``data`` and runs everything else (references,
        ``authorize``, hooks, the insert and its audit) in its transaction."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        children.refuse_direct(view, entity)
        taken, rows_sent = children.take(view, entity, data, creating=True)
        return ValidatedRow(view, entity.name, data, self._clean_create(view, entity, taken), rows_sent)

    def update(
        self, actor: Actor, entity_name: str, record_id: Any, data: Any, *, if_match: str | None = None, conn: sa.Connection | None = None
    ) -> dict[str, Any]:
        """Apply a partial change; ``custom`` keys set to ``null`` are cleared. With ``if_match`` (an
        ETag, :mod:`kernel.versions`), a record changed since that version is refused (409)."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        if not isinstance(data, dict):
            raise ValidationError.at(["body"], "must be a JSON object")
        data, rows_sent = children.take(view, entity, dict(data), creating=False)
        changes = self._clean_changes(view, entity, data)
        with self._transaction(conn) as tx:
            record = self._load(tx, view, actor, entity, record_id, lock=True)
            self._authorize(view, actor, entity, "update", record)
            seen = self._seen(tx, view, actor, entity, record)
            versions.check(entity, seen, if_match)  # the version the actor was shown
            masking.refuse_masked_changes(seen, changes, entity)
            _refuse_owner_change(entity, record, changes)
            updated = children.attach(tx, view, entity, [self._write_changes(tx, view, actor, entity, record, changes, rows_sent=rows_sent)])
            return masking.mask_records(self.site, tx, actor, entity, updated)[0] if view.masks else updated[0]

    def update_many(
        self, actor: Actor, entity_name: str, *, ids: Sequence[Any] | None = None, where: dict[str, Any] | None = None,
        changes: Any, conn: sa.Connection | None = None, owner_change: ownership.OwnerChange | None = None,
    ) -> list[int]:
        """Apply the same partial change to many records in a few statements; the ids changed (see :mod:`kernel.batches`).

        With ``owner_change`` the change may set the owner field (a plugin's rule moving many records at
        once, e.g. back to a pool): each record whose owner changes gets its ownership event.
        """
        return batches.update_many(self, actor, entity_name, ids=ids, where=where, changes=changes, conn=conn, owner_change=owner_change)

    def _clean_changes(self, view: View, entity: Entity, data: Any) -> dict[str, Any]:
        """A PATCH body checked for types (custom values fully): the changes it asks for. (Child rows
        are taken out before, by :meth:`update`; a batch update cannot write them.)"""
        if not isinstance(data, dict):
            raise ValidationError.at(["body"], "must be a JSON object")
        children.refuse_direct(view, entity)
        data = dict(data)
        custom_sent = "custom" in data  # null is no object: validate() refuses it
        custom = data.pop("custom", None)
        sequences.refuse_sent(entity, data)
        try:
            changes = entity.update_fields.model_validate(data).model_dump(exclude_unset=True)
        except pydantic.ValidationError as exc:
            raise pydantic_details(exc) from None
        parsing.check_storable(changes)
        if custom_sent:
            changes["custom"] = view.fields(entity.name).validate(custom)
            view.fields(entity.name).refuse_missing(changes["custom"], list(changes["custom"]))
        return changes

    def _write_changes(
        self, tx: sa.Connection, view: View, actor: Actor, entity: Entity, record: dict[str, Any], changes: dict[str, Any],
        *, action: str = "update", body: dict[str, Any] | None = None, rows_sent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Check, hook, store and audit ``changes`` to a loaded ``record``; the record as stored after."""
        hooks = view.pm.hook
        changes = _checked_changes(entity, record, changes)
        optionlists.clean(view, entity, changes, record)
        if "custom" in changes:
            self._check_references(tx, view, entity, [changes["custom"]])
            changes["custom"] = merged_custom(record, changes["custom"])
        hooks.before_update(site=self.site, conn=tx, actor=actor, entity=entity.name, record=record, changes=changes)
        for name in entity_write_only(entity):
            changes.pop(name, None)
        plans = children.plan(tx, self.site, view, entity, record["id"], {**record, **changes}, rows_sent, creating=False) if rows_sent else []
        for plan in plans:
            changes.update(plan.totals)
        move = states.check_change(self.site, tx, actor, entity, record, changes)
        diff = _diff(record, changes)
        if not diff and all(plan.empty for plan in plans):
            return {k: record[k] for k in entity.columns}
        now = self.site.clock.now()
        values = {k: changes[k] for k in diff if not k.startswith("custom.")}
        if any(k.startswith("custom.") for k in diff):
            values["custom"] = changes["custom"]
        values["updated_at"] = now
        row = tx.execute(
            sa.update(entity.table).where(entity.table.c.id == record["id"]).values(values).returning(*entity.table.c)
        ).one()
        updated = self._row(entity, row)
        if any(k in entity.searchable or k.startswith("custom.") for k in diff):
            search.write(tx, entity, view.fields(entity.name), [updated])
        rows_changed = children.apply(tx, self.site, view, plans, record["id"]) if plans else {}
        noted = audit.jsonable(_hide(entity, diff)) | rows_changed | ({"body": audit.jsonable(body)} if body is not None else {})
        audit.write(tx, [audit.entry(actor, now, entity.name, record["id"], action, noted)])
        diff.update({k: (old, new) for k, (old, new) in rows_changed.items()})
        timers.on_update(self.site, view, tx, entity.name, [updated], [diff])
        if move is not None:
            states.write_events(self.site, tx, actor, entity, [(updated, move)])
        hooks.after_update(site=self.site, conn=tx, actor=actor, entity=entity.name, record=updated, changes=diff)
        return updated

    def assign(
        self, actor: Actor, entity_name: str, ids: Sequence[Any], owner_id: Any, reason: str | None = None,
        *, conn: sa.Connection | None = None, change: ownership.OwnerChange | None = None, stored: dict[int, dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Give the records ``ids`` of an owned entity to ``owner_id``, all or none; returns them as stored.

        Needs ``E.assign``; each record must be one the actor sees and controls
        (:func:`kernel.ownership.controls`), the new owner an active user. Each change
        goes through the update hooks, is audited as ``assign`` (with the reason) and
        leaves an ownership event; a record its owner already has is left as it is.
        A refusal names the record (``loc`` ``["ids", index]`` when there are several).

        ``change`` (:class:`kernel.ownership.OwnerChange`) says what kind of change this is, for
        a plugin that moves owners by rules of its own (a claim, a release, a return): it is kept
        on the ownership events, its action names the audit entries, its reason stands in for
        ``reason``; with it ``owner_id`` may be ``None`` (the records are left without an owner).

        ``stored``: records of ``ids`` by id, as the caller read them in ``conn`` with a row lock (a plugin
        that checked them before changing their owner): they are not read again, only checked against the
        actor's record rules, by id, when those do not let the actor see every record.
        """
        view = self.site.view
        entity = self._entity(view, entity_name)
        owner_field = entity.owner_field
        if owner_field is None:
            raise NotFound(f"{entity.name} records have no owner", [{"loc": ["action"], "msg": "unknown action"}])
        self._authorize(view, actor, entity, ownership.ACTION, None)
        reason = ownership.checked_reason(reason if reason is not None or change is None else change.reason)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            raise ValidationError.at(["ids"], "name at least one record")
        assigned, events = [], []
        with self._transaction(conn) as tx:
            owner = None if owner_id is None and change is not None else ownership.checked_owner(tx, owner_id)
            for index, record_id in enumerate(wanted):
                try:
                    assigned.append(self._assign_one(tx, view, actor, entity, record_id, owner, reason, events, change, (stored or {}).get(record_id)))
                except RecordError as exc:
                    if len(wanted) > 1:  # say which record: the whole batch is refused
                        exc.details = [{**d, "loc": ["ids", index, *d.get("loc", [])]} for d in exc.details] or [{"loc": ["ids", index], "msg": exc.message}]
                        exc.message = f"record {record_id}: {exc.message}"
                    raise
            ownership.write(tx, events)
            if view.masks.get(entity.name):  # as the actor may see them now
                assigned = masking.mask_records(self.site, tx, actor, entity, assigned)
        return assigned

    def _assign_one(
        self, tx: sa.Connection, view: View, actor: Actor, entity: Entity, record_id: Any, owner: int | None, reason: str | None,
        events: list[dict[str, Any]], change: ownership.OwnerChange | None = None, stored: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        owner_field = entity.owner_field or ""
        record = self._load(tx, view, actor, entity, record_id, lock=True, stored=stored)
        self._authorize(view, actor, entity, ownership.ACTION, record)
        if not ownership.controls(self.site, tx, actor, entity, record):
            raise Forbidden(f"you may not give {entity.name} record {record['id']} away: it is outside your record scope")
        previous = record.get(owner_field)
        if previous == owner:
            return {k: record[k] for k in entity.columns}
        body = {"owner_id": owner, "reason": reason}
        action = change.action if change is not None else ownership.ACTION
        updated = self._write_changes(tx, view, actor, entity, record, {owner_field: owner}, action=action, body=body)
        if updated.get(owner_field) != previous:
            events.append(ownership.event(actor, self.site.clock.now(), entity.name, record["id"], previous, updated.get(owner_field), reason, change))
        return updated

    def controls(self, actor: Actor, entity_name: str, record: dict[str, Any], *, conn: sa.Connection | None = None) -> bool:
        """Whether ``actor`` decides who owns ``record`` and who it is shared with (:func:`kernel.ownership.controls`)."""
        entity = self._entity(self.site.view, entity_name)
        with self._reading(conn) as tx:
            return ownership.controls(self.site, tx, actor, entity, record)

    def delete(self, actor: Actor, entity_name: str, record_id: Any, *, conn: sa.Connection | None = None) -> None:
        """Move one record (and the rows that go with it) into the recycle bin (:mod:`kernel.trash`)."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        children.refuse_direct(view, entity)
        with self._transaction(conn) as tx:
            record = self._load(tx, view, actor, entity, record_id, lock=True)
            self._delete_loaded(tx, view, actor, entity, [record])

    def delete_many(
        self, actor: Actor, entity_name: str, *, ids: Sequence[Any] | None = None, where: Any = None, conn: sa.Connection | None = None,
    ) -> list[int]:
        """Move a set of records into the recycle bin in one transaction, set-based; returns their ids.

        ``ids`` names them (all or none: one the actor may not delete refuses the batch, ``loc``
        ``["ids", index]``); ``where`` selects them instead, as list filters (``{"status": "lost"}``)
        or a SQLAlchemy condition on the entity's table; either way within the actor's record rules.
        Same checks, hooks (``before_delete_many``/``after_delete_many``, or ``before_delete`` per
        record for plugins without them) and one audit entry per record as :meth:`delete`, in a
        number of statements that does not grow with the batch (but for one per 2,000 ids).
        """
        view = self.site.view
        entity = self._entity(view, entity_name)
        children.refuse_direct(view, entity)
        self._authorize(view, actor, entity, "delete", None)
        if (ids is None) == (where is None):
            raise ValidationError.at(["ids"], "name the records with ids or where, not both")
        wanted = list(dict.fromkeys(ids)) if ids is not None else []
        for index, id_ in enumerate(wanted):
            if not isinstance(id_, int) or isinstance(id_, bool) or not 1 <= id_ < 2**63:
                raise ValidationError.at(["ids", index], "must be a record id")
        table = entity.table
        with parents.writing():
            visible = self._visible(view, actor, entity)
        if where is None:
            selections = [table.c.id.in_(part) for part in trash.chunks(wanted)]
        elif isinstance(where, dict):
            masks = masking.for_actor(self.site, view, actor, entity)  # a filter on a masked field skips masked rows
            selections = [sa.and_(sa.true(), *Query(entity, view.fields(entity.name), self.site.engine.dialect.name, masks).filters(where))]
        else:
            selections = [where]
        with self._transaction(conn) as tx:
            records: list[dict[str, Any]] = []
            for selection in selections:
                query = sa.select(table).where(selection, *visible).order_by(table.c.id)
                if tx.dialect.name == "postgresql":
                    query = query.with_for_update()
                records.extend(dict(row._mapping) for row in tx.execute(query))
            if ids is not None and len(records) < len(wanted):
                found = {r["id"] for r in records}
                index = next(i for i, id_ in enumerate(wanted) if id_ not in found)
                raise NotFound(f"no {entity.name} record with id {wanted[index]}", [{"loc": ["ids", index], "msg": "not found"}])
            self._delete_loaded(tx, view, actor, entity, records)
        return [r["id"] for r in records]

    def _delete_loaded(self, tx: sa.Connection, view: View, actor: Actor, entity: Entity, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        for record in records:
            self._authorize(view, actor, entity, "delete", record)
        refused = ownership.uncontrolled(self.site, tx, actor, entity, records)
        if refused:
            raise Forbidden(f"you may not delete {entity.name} record {refused[0]}: it is outside your record scope")
        if view.masks.get(entity.name):  # the bin would show the deleter what they could not see
            masking.refuse_masked_delete(self.site, tx, actor, entity, [r["id"] for r in records])
        trash.delete(self.site, view, tx, actor, entity, records)

    def restore(self, actor: Actor, entity_name: str, record_id: Any, *, conn: sa.Connection | None = None) -> dict[str, Any]:
        """Bring a record back from the recycle bin with the rows that went with it (``POST /api/v1/E/{id}/restore``).

        The user who deleted it may, or an admin (404 for anyone else), if still allowed to delete
        it (``authorize`` action ``restore``); ids and values come back as they were, through the
        ``before_restore``/``after_restore`` hooks, audited as ``restore``, searchable again. A
        unique value or a referenced record that changed meanwhile is a 409 naming the field.
        """
        view = self.site.view
        entity = self._entity(view, entity_name)
        if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id < 1:
            raise NotFound(f"no {entity.name} record {record_id!r}", [{"loc": ["id"], "msg": "must be a positive integer"}])
        with self._transaction(conn) as tx:
            entry = trash.find(tx, actor, entity, record_id)
            self._authorize(view, actor, entity, trash.RESTORE, trash.stored(entity, entry))
            return trash.put_back(self.site, view, tx, actor, entity, entry)

    def act(
        self, actor: Actor, entity_name: str, record_id: Any, action_name: str, body: Any, *,
        if_match: str | None = None, conn: sa.Connection | None = None,
    ) -> dict[str, Any]:
        """Run an entity action (``POST /api/v1/E/{id}/ACTION``) in one transaction, audited
        (``if_match`` as for :meth:`update`)."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        if action_name == ownership.ACTION and entity.owner_field is not None and entity.action(ownership.ACTION) is None:  # the kernel's own action
            try:
                wanted = ownership.AssignBody.model_validate(body if body is not None else {})
            except pydantic.ValidationError as exc:
                raise pydantic_details(exc, ["body"]) from None
            with self._transaction(conn) as tx:
                if if_match is not None:
                    versions.check(entity, self._seen(tx, view, actor, entity, self._load(tx, view, actor, entity, record_id, lock=True)), if_match)
                return self.assign(actor, entity.name, [record_id], wanted.owner_id, wanted.reason, conn=tx)[0]
        if action_name == trash.RESTORE:  # the kernel's own action, on a record that is in the bin
            return self.restore(actor, entity.name, record_id, conn=conn)
        action = entity.action(action_name)
        if action is None:
            raise NotFound(f"{entity.name} has no action {action_name!r}", [{"loc": ["action"], "msg": "unknown action"}])
        parsed: Any = body
        if action.body is not None:
            try:
                parsed = action.body.model_validate(body if body is not None else {})
            except pydantic.ValidationError as exc:
                raise pydantic_details(exc, ["body"]) from None
        with self._transaction(conn) as tx:
            try:
                record = self._load(tx, view, actor, entity, record_id, lock=True)
            except NotFound:
                if action.unseen is not None:
                    action.unseen(site=self.site, conn=tx, actor=actor, entity=entity, record_id=record_id)
                raise
            self._authorize(view, actor, entity, action.name, record)
            if if_match is not None:  # the version the actor was shown (masked): a query, so only when asked
                versions.check(entity, self._seen(tx, view, actor, entity, record), if_match)
            result = action.handler(site=self.site, conn=tx, actor=actor, entity=entity, record=record, body=parsed)
            detail = audit.jsonable(parsed.model_dump() if isinstance(parsed, pydantic.BaseModel) else parsed or {})
            audit.write(tx, [audit.entry(actor, self.site.clock.now(), entity.name, record["id"], action.name, {"body": detail})])
        return result

    # -- reads ----------------------------------------------------------------------

    def get(self, actor: Actor, entity_name: str, record_id: Any, *, conn: sa.Connection | None = None) -> dict[str, Any]:
        view = self.site.view
        entity = self._entity(view, entity_name)
        masks = masking.for_actor(self.site, view, actor, entity) if view.masks.get(entity.name) else None
        with self._reading(conn) as tx:
            record = self._load(tx, view, actor, entity, record_id, lock=False, masks=masks)
            masked = {record["id"]: masks.take_flags(record)} if masks is not None else {}
            self._authorize(view, actor, entity, "read", record)
            found = children.attach(tx, view, entity, [{k: record[k] for k in entity.columns}])
            return masking.mask_records(self.site, tx, actor, entity, found, masked=masked)[0] if view.masks else found[0]

    def history(self, actor: Actor, entity_name: str, record_id: Any, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """A record's audit entries, newest first (only for a record the actor can see)."""
        with self.site.engine.connect() as conn:
            record = self.history_record(actor, entity_name, record_id, conn=conn)
            entries = audit.history(conn, entity_name, record["id"], limit=limit, offset=offset, since=record["created_at"])
            return masking.masked_history(record, entries, self.site.view.entity(entity_name))

    def history_record(self, actor: Actor, entity_name: str, record_id: Any, *, conn: sa.Connection | None = None) -> dict[str, Any]:
        """The record, if ``actor`` may read its history and activity (``authorize`` action ``history``); 404/403 otherwise."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        record = self.get(actor, entity_name, record_id, conn=conn)
        answers = view.pm.hook.authorize(site=self.site, actor=actor, entity=entity.name, action="history", record=record)
        if False in answers:
            raise Forbidden(f"you may not read the history of {entity.name} record {record['id']}")
        return record

    def _reading(self, conn: sa.Connection | None) -> AbstractContextManager[sa.Connection]:
        return joined(self.site, conn, write=False)

    def list(
        self,
        actor: Actor,
        entity_name: str,
        *,
        filters: dict[str, Any] | None = None,
        sort: str | Sequence[str] | None = None,
        q: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        exact_total: bool = False,
        conn: sa.Connection | None = None,
    ) -> Page:
        """One page of records the actor may see, filtered and sorted in SQL.

        ``q`` narrows the rows to a search's matches (see :mod:`kernel.search`), ranked
        best first unless ``sort`` asks another order. The total is counted up to the
        ``count_cap`` setting (beyond it ``total`` is the cap and ``total_exact`` false)
        unless ``exact_total``; a total known without a count (the last page, a ranked
        search) is exact whatever its size.
        """
        view = self.site.view
        entity = self._entity(view, entity_name)
        masks = masking.for_actor(self.site, view, actor, entity)
        rows = self._list_query(view, actor, entity, filters=filters, sort=sort, q=q, limit=limit, offset=offset, ranked=True, masks=masks)
        # ranking reads every match anyway: the same query counts them (count(*) OVER ())
        ranked = not sort and bool(q and search.terms(q))
        cap = None if exact_total else self.site.settings.count_cap
        with self._reading(conn) as tx:
            if ranked:
                found = tx.execute(rows.add_columns(sa.func.count().over().label(_MATCHES))).all()
                items = [masks.record(row._mapping) if masks else self._row(entity, row) for row in found]
                total = found[0]._mapping[_MATCHES] if found else None
            elif masks:
                items = [masks.record(row._mapping) for row in tx.execute(rows)]
                total = offset + len(items) if items and len(items) < limit else None
            else:
                columns, values = entity.columns, entity.visible_values  # the SELECT is the whole table's row
                items = [dict(zip(columns, values(row))) for row in tx.execute(rows)]
                total = offset + len(items) if items and len(items) < limit else None  # the last page counts itself
            if total is not None:  # counted exactly without a count query
                return Page(items, total, limit, offset)
            total = tx.execute(_count(rows, None if cap is None else cap + 1)).scalar_one()
        if cap is not None and total > cap:
            return Page(items, cap, limit, offset, total_exact=False)
        return Page(items, total, limit, offset)

    def aggregate(
        self,
        actor: Actor,
        entity_name: str,
        *,
        group_by: Sequence[str] = (),
        measures: Sequence[str] = ("count",),
        filters: dict[str, Any] | None = None,
        time_zone: str | None = None,
        locale: str | None = None,
        limit: int = aggregates.DEFAULT_LIMIT,
        conn: sa.Connection | None = None,
    ) -> aggregates.Aggregate:
        """Count and measure the records ``actor`` may see, grouped, in one SQL statement.

        ``group_by``: field names, a date or moment as ``"F:month"`` (day, week, month, quarter,
        year; moments in the site's time zone unless ``time_zone``); ``measures``: ``"count"``,
        ``"count_distinct:F"``, ``"sum:F"``, ``"avg:F"``, ``"min:F"``, ``"max:F"``; ``filters``
        as :meth:`list` takes them. See :mod:`kernel.aggregates` for keys, labels and money.
        """
        return aggregates.aggregate(
            self, actor, entity_name, group_by=list(group_by), measures=list(measures), filters=filters,
            time_zone=time_zone, locale=locale, limit=limit, conn=conn,
        )

    def list_query(
        self,
        actor: Actor,
        entity_name: str,
        *,
        filters: dict[str, Any] | None = None,
        sort: str | Sequence[str] | None = None,
        q: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> sa.Select[Any]:
        """The SELECT of the records :meth:`list` reads for these parameters, in ``sort`` order
        then by id (search matches unranked, so that a reader can page by id)."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        return self._list_query(view, actor, entity, filters=filters, sort=sort, q=q, limit=limit, offset=offset)

    def reindex(self, entity_name: str, ids: Sequence[int], *, conn: sa.Connection) -> None:
        """Rewrite the search documents of records written without :class:`Records` (a restored row, say)."""
        view = self.site.view
        entity = self._entity(view, entity_name)
        table = entity.table
        rows = [dict(row._mapping) for row in conn.execute(sa.select(table).where(table.c.id.in_(list(ids))))]
        search.forget(conn, entity.name, list(ids))
        search.write(conn, entity, view.fields(entity.name), rows, new=True)

    def _list_query(
        self,
        view: View,
        actor: Actor,
        entity: Entity,
        *,
        filters: dict[str, Any] | None,
        sort: str | Sequence[str] | None,
        q: str | None,
        limit: int,
        offset: int,
        ranked: bool = False,
        masks: masking.Masking | None | bool = True,
    ) -> sa.Select[Any]:
        self._authorize(view, actor, entity, "read", None)
        if masks is True:
            masks = masking.for_actor(self.site, view, actor, entity)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationError.at(["query", "limit"], f"must be between 1 and {MAX_LIMIT}")
        if not isinstance(offset, int) or offset < 0:
            raise ValidationError.at(["query", "offset"], "must be 0 or more")
        dialect = self.site.engine.dialect.name
        fields = view.fields(entity.name)
        query = Query(entity, fields, dialect, masks or None)
        conditions = [*query.filters(filters or {}), *self._visible(view, actor, entity)]
        order = query.order(sort)
        statement = sa.select(*masks.columns(entity.table)) if masks else sa.select(entity.table)
        terms = search.terms(q) if q else []
        if terms:
            finder = search.Search(entity, fields, dialect)
            statement = statement.select_from(finder.join(entity.table))
            conditions.extend(finder.conditions(terms))
            if masks:
                conditions.append(masking.searched(masks, fields, terms))
            if ranked and not sort:
                order.insert(0, masking.ranked(masks, fields, finder.rank(terms)) if masks else finder.rank(terms))
        return statement.where(*conditions).order_by(*order).limit(limit).offset(offset)


_MATCHES = "_matches"


def _count(rows: sa.Select[Any], bound: int | None) -> sa.Select[Any]:
    """``count(*)`` of the rows ``rows`` selects (unpaged), reading at most ``bound`` of them."""
    matching = rows.with_only_columns(sa.literal_column("1"), maintain_column_froms=True).order_by(None).offset(None).limit(bound)
    return sa.select(sa.func.count()).select_from(matching.subquery())


class Query:
    """Turns the API's filter and sort parameters into SQL for one entity."""

    RANGE = {"gte": "__ge__", "lte": "__le__", "gt": "__gt__", "lt": "__lt__"}

    def __init__(self, entity: Entity, fields: FieldSet, dialect: str, masks: masking.Masking | None = None):
        self.entity, self.fields, self.dialect = entity, fields, dialect
        self.masks = masks  # fields masked for the reader: NULL on masked rows, never matched (kernel.masking)

    def column(self, name: str, loc: str) -> tuple[sa.ColumnElement[Any], Any]:
        """The SQL expression for a field and a function that converts a filter value for it."""
        table = self.entity.table
        if name in self.entity.columns and name != "custom":
            column = table.c[name]
            shown = self.masks.expression(name, column) if self.masks else column
            if isinstance(column.type, Money):
                return shown, _amount_coercer(column.type.scale)
            return shown, _coercer(_column_kind(column.type), self.dialect)
        if name in self.fields:
            field_ = self.fields[name]
            expression = field_expression(field_, self.dialect)
            shown = self.masks.expression(name, expression) if self.masks else expression
            return shown, _coercer(field_.kind, self.dialect)
        raise ValidationError.at(["query", loc], f"unknown field {name!r} for {self.entity.name}")

    def filters(self, filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
        conditions = []
        for key, raw in filters.items():
            name, _, op = key.partition("__")
            if op and op not in self.RANGE and op != "in":
                raise ValidationError.at(["query", key], "unknown operator; use __gte, __lte, __gt, __lt or __in")
            if op == "in":  # one of several values: a list, or comma-separated text (option codes, ids)
                conditions.append(self._one_of(name, key, raw))
                continue
            if (name in self.fields and self.fields[name].kind == "multi_enum") or self._is_json_list(name):
                if op:
                    raise ValidationError.at(["query", key], "a multi-select field takes equality filters only")
                found = self._holds(name, str(raw))
                conditions.append(self.masks.filtered(name, found) if self.masks else found)
                continue
            expression, coerce = self.column(name, key)
            try:
                value = coerce(raw)
            except ValidationError as exc:
                raise ValidationError.at(["query", key], exc.details[0]["msg"]) from None
            except (ValueError, TypeError, InvalidOperation):
                raise ValidationError.at(["query", key], f"{raw!r} is not a valid value for this field") from None
            if value is None and op:
                raise ValidationError.at(["query", key], "a range needs a value; null matches only with an equality filter")
            found = expression.is_(None) if value is None else getattr(expression, self.RANGE[op])(value) if op else expression == value
            conditions.append(self.masks.filtered(name, found) if self.masks else found)
        return conditions

    def _one_of(self, name: str, key: str, raw: Any) -> sa.ColumnElement[bool]:
        items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
        items = [item.strip() if isinstance(item, str) else item for item in items]
        if not items or len(items) > 500 or any(item in ("", None) for item in items):
            raise ValidationError.at(["query", key], "give 1 to 500 values, separated by commas")
        if (name in self.fields and self.fields[name].kind == "multi_enum") or self._is_json_list(name):  # holds any of them
            found = sa.or_(*(self._holds(name, str(item)) for item in items))
            return self.masks.filtered(name, found) if self.masks else found
        expression, coerce = self.column(name, key)
        try:
            return expression.in_([coerce(item) for item in items])
        except (ValidationError, ValueError, TypeError, InvalidOperation):
            raise ValidationError.at(["query", key], f"{raw!r} holds a value that is not valid for this field") from None

    def _is_json_list(self, name: str) -> bool:
        """A built-in column holding a JSON list (``list[str]`` input, e.g. several option codes)."""
        if name not in self.entity.columns or name == "custom" or not isinstance(self.entity.table.c[name].type, sa.JSON):
            return False
        info = self.entity.fields.model_fields.get(name)
        return info is not None and optionlists.is_list(info.annotation)

    def _holds(self, name: str, value: str) -> sa.ColumnElement[bool]:
        """The record's list (custom multi-select, or built-in JSON list) contains ``value``."""
        if name in self.fields and name not in self.entity.columns:
            return contains_expression(self.fields[name], self.dialect, value)
        column = self.entity.table.c[name]
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return sa.cast(column, JSONB).op("?")(sa.bindparam(None, value, type_=sa.String))
        each = sa.func.json_each(column).table_valued("value")
        return sa.exists(sa.select(1).select_from(each).where(each.c.value == value))

    def order(self, sort: str | Sequence[str] | None) -> list[sa.ColumnElement[Any]]:
        keys = [part.strip() for part in sort.split(",")] if isinstance(sort, str) else list(sort or [])
        clauses: list[sa.ColumnElement[Any]] = []
        for key in filter(None, keys):
            name = key.removeprefix("-")
            if name in self.fields and self.fields[name].kind == "multi_enum":
                raise ValidationError.at(["query", "sort"], f"cannot sort by the multi-select field {name!r}")
            expression, _ = self.column(name, "sort")
            clauses.append(expression.desc() if key.startswith("-") else expression.asc())
        id_ = self.entity.table.c.id
        descending = bool(keys) and keys[-1].startswith("-")
        clauses.append(id_.desc() if descending else id_.asc())
        return clauses


def _column_kind(column_type: sa.types.TypeEngine[Any]) -> str:
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return "string"
    kinds = {bool: "boolean", int: "integer", float: "number", Decimal: "number", datetime: "column_datetime", date: "column_date"}
    return kinds.get(python_type, "string")


def _amount_coercer(scale: int) -> Any:
    """For a :class:`~kernel.db.Money` column: a Decimal with at most its decimals (the column converts it)."""

    def amount(raw: Any) -> Decimal | None:
        if raw is None or raw == "null":
            return None
        value = parsing.parse_decimal(raw, [])
        if value != value.quantize(Decimal(1).scaleb(-scale)) or abs(value) >= Decimal(10) ** (18 - scale):
            raise ValueError(raw)
        return value

    return amount


def _coercer(kind: str, dialect: str) -> Any:
    """A function turning a filter value (often a query-string text) into what SQL compares with."""

    def boolean(raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return lowered in ("true", "1")

    def integer(raw: Any) -> int:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        return parsing.parse_int(raw, [])

    def number(raw: Any) -> Any:
        value = parsing.parse_decimal(raw, [])
        # PostgreSQL compares numeric with numeric (so the index applies); SQLite binds floats only
        return value if dialect == "postgresql" else float(value)

    def column_datetime(raw: Any) -> datetime:
        return parsing.parse_moment(raw, [], assume=timezone.utc)

    def column_date(raw: Any) -> date:
        return parsing.parse_date(raw, [])

    def custom_date(raw: Any) -> str:
        return parsing.parse_date(raw, []).isoformat()

    def custom_datetime(raw: Any) -> str:
        return normal_datetime(str(raw))

    converters: dict[str, Any] = {
        "boolean": boolean,
        "integer": integer,
        "reference": integer,
        "number": number,
        "money": number,
        "column_datetime": column_datetime,
        "column_date": column_date,
        "date": custom_date,
        "date-time": custom_datetime,
    }
    convert = converters.get(kind, str)
    return lambda raw: None if raw is None or raw == "null" else convert(raw)


def _insert_returning(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[sa.Row[Any]]:
    """Insert ``rows`` with batched multi-row INSERT … RETURNING; the stored rows come back in the order given.

    On PostgreSQL SQLAlchemy keeps that order itself (``sort_by_parameter_order``).
    On SQLite it can only do so by sending one INSERT per row; but SQLite numbers
    new rows max(id) + 1 in the order a statement inserts them, and its write lock
    keeps other writers out of the transaction, so sorting the batch by id restores
    the order. Rows that bring their own ids take SQLAlchemy's path.
    """
    statement = sa.insert(table)
    if conn.dialect.name == "sqlite" and not any("id" in row for row in rows):
        return sorted(conn.execute(statement.returning(*table.c), rows), key=lambda row: row.id)
    if _ids_first(conn, table, rows):
        ids = _taken_ids(conn, table, len(rows))
        conn.execute(statement, [{**row, "id": id_} for row, id_ in zip(rows, ids)])
        stored = {row.id: row for row in conn.execute(sa.select(table).where(table.c.id.in_(ids)))}
        return [stored[id_] for id_ in ids]
    return list(conn.execute(statement.returning(*table.c, sort_by_parameter_order=True), rows))


def _ids_first(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> bool:
    """Whether a PostgreSQL batch takes its ids from the sequence before a plain insert.

    A multi-row ``INSERT … RETURNING`` is one statement text per batch, tens of thousands of
    placeholders long, which psycopg parses anew every time (too long for its cache): on a
    thousand-row import batch that was a fifth of the time. Ids taken first (one statement) let
    the rows go in without RETURNING: psycopg's pipelined ``executemany`` of one short, prepared
    statement, or (:func:`_insert_returning_ids`) one ``COPY``.
    """
    return conn.dialect.name == "postgresql" and len(rows) > 1 and _numbered_here(table, rows)


def _numbered_here(table: sa.Table, rows: list[dict[str, Any]]) -> bool:
    """Whether the database numbers ``rows``: ``table``'s key is one auto-incremented integer ``id`` no row gives."""
    return (
        "id" in table.c and [c.name for c in table.primary_key.columns] == ["id"] and not any("id" in row for row in rows)
        and isinstance(table.c.id.type, sa.Integer) and table.c.id.autoincrement in (True, "auto")
    )


def _taken_ids(conn: sa.Connection, table: sa.Table, count: int) -> list[int]:
    """``count`` new ids from ``table``'s id sequence, in the order the sequence gave them."""
    taken = sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence(table.name, "id"))).select_from(sa.func.generate_series(1, count))
    return [int(i) for i in conn.scalars(taken)]


def _insert_returning_ids(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Like :func:`_insert_returning`, fetching only the new ids, the rows handed to the driver in its
    own form (:func:`kernel.inserts.insert_rows`).

    On SQLite one executemany numbers the rows one after another from the largest id (or the
    table's ``AUTOINCREMENT`` mark) plus one, in the order given, the write lock keeping other
    writers out: the last id (``last_insert_rowid()``) and the count name them all.
    """
    if conn.dialect.name == "sqlite" and _numbered_here(table, rows):
        inserts.insert_rows(conn, table, rows)
        last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))
    if _ids_first(conn, table, rows):
        ids = _taken_ids(conn, table, len(rows))
        inserts.insert_rows(conn, table, [{**row, "id": id_} for row, id_ in zip(rows, ids)])
        return ids
    statement = sa.insert(table)
    if conn.dialect.name == "sqlite" and not any("id" in row for row in rows):
        return sorted(conn.scalars(statement.returning(table.c.id), rows))
    return list(conn.scalars(statement.returning(table.c.id, sort_by_parameter_order=True), rows))


_NOT_CHANGES = frozenset({"id", "created_at", "updated_at", "custom"})


def _created_changes(entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
    """A new record's audit ``changes``: every value set, from nothing (custom values are JSON already)."""
    plain, jsonable = audit.JSON_SCALARS, audit.jsonable  # most values are text: no call for them
    changes = {k: [None, v if type(v) in plain else jsonable(v)] for k, v in record.items() if v is not None and k not in _NOT_CHANGES}
    changes.update({f"custom.{k}": [None, v] for k, v in (record.get("custom") or {}).items()})
    return changes


def _refuse_owner_change(entity: Entity, record: dict[str, Any], changes: dict[str, Any]) -> None:
    """An update keeps the owner: sending the current one is fine, another is a 422 pointing at ``assign``."""
    owner = entity.owner_field
    if owner is not None and owner in changes and changes[owner] != record.get(owner):
        raise ValidationError(
            f"{owner}: the owner cannot be changed by an edit; use POST /api/v1/{entity.name}/{record['id']}/assign",
            [{"loc": [owner], "msg": "read-only here: give the record away with the assign action"}],
        )


def merged_custom(record: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """A record's custom values after a change that sends ``sent`` (a ``None`` value clears its key)."""
    merged = dict(record["custom"] or {})
    for key, value in sent.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _diff(record: dict[str, Any], changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    diff: dict[str, tuple[Any, Any]] = {}
    for key, new in changes.items():
        if key == "custom":
            old_custom, new_custom = record.get("custom") or {}, new or {}
            for name in sorted(set(old_custom) | set(new_custom)):
                if old_custom.get(name) != new_custom.get(name):
                    diff[f"custom.{name}"] = (old_custom.get(name), new_custom.get(name))
        elif record.get(key) != new:
            diff[key] = (record.get(key), new)
    return diff


def _hide(entity: Entity, diff: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***", "***") if k in entity.hidden else v for k, v in diff.items()}


def _as_stored(entity: Entity, cleaned: list[dict[str, Any]], ids: list[int]) -> list[dict[str, Any]]:
    """The records just inserted from ``cleaned``, given their ``ids`` and without the hidden fields: the
    batch's own dicts, changed in place (:meth:`Records.create_many` made them and reads them no more),
    which spares an import a copy of every row."""
    hidden = entity.hidden
    for values, id_ in zip(cleaned, ids):
        values["id"] = id_
        for name in hidden:
            values.pop(name, None)
    return cleaned
