"""Admin-edited sets of states (:mod:`kernel.states`): describe, add, change, reorder, remove.

``site.states`` offers these to plugins (a board plugin seeding a new board's stages with
:meth:`StateSets.define`); ``/api/v1/meta/entities/E/states`` offers them to admins. These
methods do not check who calls: the API lets admins only, a plugin decides for itself.

Records store a state's key, which never changes: renaming (``label``), reordering, or
changing a state's rules leaves every record as it is. Removing a state that records are
in needs ``move_to``; the records move there in the same transaction, set-based (one
UPDATE), each with an audit entry and a state event (the guards and ``before_transition``
are not asked: the admin decided), and ``record_transition`` is called for each.
Every change is audited under the entity ``states``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit, permissions, states
from .db import joined
from .errors import Conflict, NotFound, ValidationError
from .states import EVENTS, STATES, Move, State

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site

STATE_KEYS = ("key", "label", "kind", "requires", "permission", "to", "position")
MAX_EVENTS_PAGE = 500


def _object(body: Any, allowed: Sequence[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    unknown = [key for key in body if key not in allowed]
    if unknown:
        raise ValidationError(
            f"body.{unknown[0]}: unknown field (allowed: {', '.join(allowed)})",
            [{"loc": ["body", key], "msg": "unknown field"} for key in unknown],
        )
    return body


def _as_state(body: dict[str, Any], base: State | None = None) -> State:
    """A :class:`State` from a JSON body (lists become tuples; wrong types are kept for the checks to name)."""
    values: dict[str, Any] = {}
    for name in ("key", "label", "kind", "permission"):
        if name in body:
            values[name] = body[name]
    for name in ("requires", "to"):
        if name in body:
            value = body[name]
            values[name] = tuple(value) if isinstance(value, list) else (value if value is None else [value])
    if base is not None:
        return replace(base, **values)
    if "key" not in values or "label" not in values:
        raise ValidationError.at(["body", "key" if "key" not in values else "label"], "is required")
    return State(**values)


class StateSets:
    """The admin-edited states of every entity with a :class:`~kernel.states.StateMachine` (``site.states``)."""

    def __init__(self, site: Site):
        self.site = site

    # -- plumbing -----------------------------------------------------------------------

    def _transaction(self, conn: sa.Connection | None) -> AbstractContextManager[sa.Connection]:
        return joined(self.site, conn)

    def _entity(self, name: str) -> Entity:
        entity = self.site.view.entity(name)
        if entity is None or entity.states is None:
            raise NotFound(f"no enabled entity with states named {name!r}", [{"loc": ["path", "entity"], "msg": "unknown entity, or one without states"}])
        return entity

    def _editable(self, name: str) -> Entity:
        entity = self._entity(name)
        if entity.states is not None and not entity.states.editable:
            raise Conflict(f"the states of {entity.name} are fixed in code", [{"loc": ["path", "entity"], "msg": "states fixed in code"}])
        return entity

    def _set_key(self, entity: Entity, set_key: Any) -> str:
        machine = entity.states
        assert machine is not None
        if machine.set_by is None:
            if set_key not in (None, ""):
                raise ValidationError.at(["set"], f"{entity.name} has one set of states: leave set out")
            return ""
        if isinstance(set_key, int) and not isinstance(set_key, bool):
            set_key = str(set_key)
        if not isinstance(set_key, str) or not set_key or len(set_key) > states.MAX_SET_KEY:
            raise ValidationError.at(["set"], f"is required: the {machine.set_by} the states belong to")
        if _is_integer(entity.table.c[machine.set_by]):
            if not set_key.isascii() or not set_key.isdigit() or not 1 <= int(set_key) < 2**63:
                raise ValidationError.at(["set"], f"must be a {machine.set_by}: a whole number from 1")
            set_key = str(int(set_key))
        return set_key

    def _check(self, entity: Entity, state: State, keys: Sequence[str]) -> None:
        wrong = states._state_problems(state, keys)
        fields = self.site.view.fields(entity.name)
        unknown = [n for n in state.requires if isinstance(n, str) and n not in entity.columns and n not in fields]
        if "requires" not in wrong and unknown:
            wrong["requires"] = f"{unknown[0]!r} is not a field of {entity.name}"
        if "permission" not in wrong and state.permission is not None and state.permission not in permissions.registry(self.site.view):
            wrong["permission"] = f"{state.permission!r} is not a registered permission"
        if wrong:
            details = [{"loc": ["body", key], "msg": reason} for key, reason in wrong.items()]
            raise ValidationError(f"{'.'.join(details[0]['loc'])}: {details[0]['msg']}", details)

    def _store(self, conn: sa.Connection, entity: Entity, set_key: str, ordered: Sequence[State]) -> None:
        """Write the set as ``ordered`` (positions 0..n-1), replacing its rows."""
        conn.execute(sa.delete(STATES).where(STATES.c.entity == entity.name, STATES.c.set_key == set_key))
        if ordered:
            conn.execute(sa.insert(STATES), [_row(entity, set_key, state, position) for position, state in enumerate(ordered)])

    def _audit(self, conn: sa.Connection, actor: Actor, entity: Entity, set_key: str, action: str, changes: dict[str, Any]) -> None:
        noted = {"entity": entity.name, "set": set_key, **audit.jsonable(changes)}
        audit.write(conn, [audit.entry(actor, self.site.clock.now(), states.AUDIT_ENTITY, None, action, noted)])

    # -- reading ------------------------------------------------------------------------

    def definitions(self, entity_name: str, set_key: Any = None, *, conn: sa.Connection | None = None) -> list[State]:
        """The states of one set of ``entity_name``, in order."""
        entity = self._entity(entity_name)
        key = self._set_key(entity, set_key)
        if conn is not None:
            return states.definitions(conn, entity, key)
        with self.site.engine.connect() as new:
            return states.definitions(new, entity, key)

    def describe(self, entity_name: str, set_key: Any = None) -> dict[str, Any]:
        """The entity's state machine and its sets (all of them, or the one ``set_key`` names)."""
        entity = self._entity(entity_name)
        machine = entity.states
        assert machine is not None
        with self.site.engine.connect() as conn:
            if machine.set_by is None or set_key not in (None, ""):
                key = self._set_key(entity, set_key)
                sets = {key: states.definitions(conn, entity, key)}
            else:
                sets = {}
                query = sa.select(STATES).where(STATES.c.entity == entity.name).order_by(STATES.c.set_key, STATES.c.position, STATES.c.id)
                for row in conn.execute(query):
                    sets.setdefault(row.set_key, []).append(states._from_row(row))
        return {
            "entity": entity.name,
            "field": machine.field,
            "set_by": machine.set_by,
            "outcome": machine.outcome,
            "editable": machine.editable,
            "kinds": list(states.KINDS),
            "sets": [{"key": key, "states": [s.as_public(i) for i, s in enumerate(found)]} for key, found in sets.items()],
        }

    def events(self, actor: Actor, entity_name: str, record_id: Any, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """A record's state events, oldest first, for an actor who may read its history (404/403 otherwise)."""
        self._entity(entity_name)
        with self.site.engine.connect() as conn:
            record = self.site.records.history_record(actor, entity_name, record_id, conn=conn)
            return states.events_of(conn, entity_name, record["id"], limit=limit, offset=offset)

    # -- editing ------------------------------------------------------------------------

    def define(self, actor: Actor, entity_name: str, set_key: Any, defined: Sequence[State], *, conn: sa.Connection | None = None) -> dict[str, Any]:
        """Create a whole set at once, in order (a new board's stages); 409 when the set has states already."""
        entity = self._editable(entity_name)
        key = self._set_key(entity, set_key)
        keys = [s.key for s in defined]
        if not defined or len(set(keys)) != len(keys):
            raise ValidationError.at(["states"], "give at least one state, each key once")
        for state in defined:
            self._check(entity, state, keys)
        with self._transaction(conn) as tx:
            if states.definitions(tx, entity, key, lock="update"):
                raise Conflict(f"set {key!r} of {entity.name} has states already", [{"loc": ["set"], "msg": "not empty"}])
            self._store(tx, entity, key, defined)
            self._audit(tx, actor, entity, key, "create", {"states": keys})
        return self.describe(entity.name, key or None)

    def add(self, actor: Actor, entity_name: str, set_key: Any, body: Any, *, conn: sa.Connection | None = None) -> dict[str, Any]:
        """Add one state (``key``, ``label``, optional ``kind``, ``requires``, ``permission``, ``to``,
        ``position`` — 0-based, default last) to a set; the state as stored."""
        entity = self._editable(entity_name)
        key = self._set_key(entity, set_key)
        body = _object(body, STATE_KEYS)
        state = _as_state(body)
        with self._transaction(conn) as tx:
            current = states.definitions(tx, entity, key, lock="update")
            if states._find(current, state.key) is not None:
                raise Conflict(f"state {state.key!r} exists already in this set", [{"loc": ["body", "key"], "msg": "taken"}])
            self._check(entity, state, [*(s.key for s in current), state.key])
            position = _position(body.get("position", len(current)), len(current))
            ordered = [*current[:position], state, *current[position:]]
            self._store(tx, entity, key, ordered)
            self._audit(tx, actor, entity, key, "create", {"state": state.as_public(position)})
        return state.as_public(position)

    def change(self, actor: Actor, entity_name: str, set_key: Any, state_key: str, body: Any, *, conn: sa.Connection | None = None) -> dict[str, Any]:
        """Change a state's ``label`` (rename), ``kind``, ``requires``, ``permission``, ``to`` or ``position``; its key stays."""
        entity = self._editable(entity_name)
        key = self._set_key(entity, set_key)
        body = _object(body, tuple(k for k in STATE_KEYS if k != "key"))
        if not body:
            raise ValidationError.at(["body"], "send at least one of " + ", ".join(k for k in STATE_KEYS if k != "key"))
        with self._transaction(conn) as tx:
            current = states.definitions(tx, entity, key, lock="update")
            index = next((i for i, s in enumerate(current) if s.key == state_key), None)
            if index is None:
                raise NotFound(f"no state {state_key!r} in this set", [{"loc": ["path", "key"], "msg": "unknown state"}])
            before = current[index]
            after = _as_state(body, before)
            self._check(entity, after, [s.key for s in current])
            rest = [s for s in current if s.key != state_key]
            position = _position(body.get("position", index), len(rest))
            ordered = [*rest[:position], after, *rest[position:]]
            self._store(tx, entity, key, ordered)
            if after.kind != before.kind:
                self._set_outcome(tx, actor, entity, key, after)
            changes = {name: [b, a] for name, b, a in _compare(before.as_public(index), after.as_public(position))}
            self._audit(tx, actor, entity, key, "update", {"state": state_key, "changes": changes})
        return after.as_public(position)

    def reorder(self, actor: Actor, entity_name: str, set_key: Any, keys: Any, *, conn: sa.Connection | None = None) -> dict[str, Any]:
        """Put a set's states in the order of ``keys`` (every key of the set, once)."""
        entity = self._editable(entity_name)
        key = self._set_key(entity, set_key)
        with self._transaction(conn) as tx:
            current = states.definitions(tx, entity, key, lock="update")
            if (
                not isinstance(keys, list)
                or not all(isinstance(k, str) for k in keys)
                or sorted(keys) != sorted(s.key for s in current)
                or len(set(keys)) != len(keys)
            ):
                raise ValidationError.at(["body", "order"], f"must list every state of the set once: {states._keys(current)}")
            by_key = {s.key: s for s in current}
            self._store(tx, entity, key, [by_key[k] for k in keys])
            self._audit(tx, actor, entity, key, "update", {"order": [[s.key for s in current], list(keys)]})
        return self.describe(entity.name, key or None)

    def remove(
        self, actor: Actor, entity_name: str, set_key: Any, state_key: str, *, move_to: str | None = None, conn: sa.Connection | None = None
    ) -> int:
        """Remove a state; records in it move to ``move_to`` (409 naming how many they are when it is missing).

        Returns how many records moved. Other states' ``to`` lists forget the removed key.
        """
        entity = self._editable(entity_name)
        key = self._set_key(entity, set_key)
        machine = entity.states
        assert machine is not None
        table = entity.table
        with self._transaction(conn) as tx:
            current = states.definitions(tx, entity, key, lock="update")
            removed = states._find(current, state_key)
            if removed is None:
                raise NotFound(f"no state {state_key!r} in this set", [{"loc": ["path", "key"], "msg": "unknown state"}])
            rest = [s for s in current if s.key != state_key]
            target = None
            if move_to is not None:
                target = states._find(rest, move_to)
                if target is None:
                    raise ValidationError.at(["query", "move_to"], f"must be another state of this set: {states._keys(rest)}")
            where = [table.c[machine.field] == state_key, *_in_set(entity, key)]
            count = tx.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0
            if count and target is None:
                message = f"{count} {entity.name} records are in {state_key!r}: name the state they move to with move_to"
                raise Conflict(message, [{"loc": ["query", "move_to"], "msg": message, "count": count}])
            if count and target is not None:
                self._move_all(tx, actor, entity, key, removed, target, where)
            kept = [replace(s, to=tuple(k for k in s.to if k != state_key)) if s.to is not None else s for s in rest]
            self._store(tx, entity, key, kept)
            self._audit(tx, actor, entity, key, "delete", {"state": state_key, "move_to": move_to, "moved": count})
        return count

    def _set_outcome(self, tx: sa.Connection, actor: Actor, entity: Entity, set_key: str, state: State) -> None:
        """A state's kind changed: the outcome column of its records follows (one UPDATE, audited; no transition)."""
        machine = entity.states
        assert machine is not None
        if machine.outcome is None:
            return
        table, outcome, now = entity.table, machine.outcome, self.site.clock.now()
        where = [table.c[machine.field] == state.key, table.c[outcome].is_distinct_from(state.kind), *_in_set(entity, set_key)]
        rows = tx.execute(sa.select(table.c.id, table.c[outcome]).where(*where)).all()
        if not rows:
            return
        tx.execute(sa.update(table).where(table.c.id.in_([r.id for r in rows])).values({outcome: state.kind, "updated_at": now}))
        audit.write(tx, (audit.entry(actor, now, entity.name, r.id, "update", {outcome: [r[1], state.kind]}) for r in rows))

    def _move_all(self, tx: sa.Connection, actor: Actor, entity: Entity, set_key: str, removed: State, target: State, where: list[Any]) -> None:
        """Move every record matching ``where`` from ``removed`` to ``target``: one UPDATE, then the events."""
        machine = entity.states
        assert machine is not None
        table = entity.table
        now = self.site.clock.now()
        earlier = EVENTS.alias("earlier")
        last = (
            sa.select(sa.func.max(earlier.c.id))
            .where(earlier.c.entity == entity.name, earlier.c.record_id == table.c.id)
            .correlate(table)
            .scalar_subquery()
        )
        query = sa.select(table, EVENTS.c.at.label("_entered")).select_from(table.outerjoin(EVENTS, EVENTS.c.id == last)).where(*where)
        if tx.dialect.name == "postgresql":
            query = query.with_for_update(of=table)
        rows = [dict(row._mapping) for row in tx.execute(query)]
        values: dict[str, Any] = {machine.field: target.key, "updated_at": now}
        if machine.outcome is not None:
            values[machine.outcome] = target.kind
        ids = [row["id"] for row in rows]
        tx.execute(sa.update(table).where(table.c.id.in_(ids)).values(values))
        changes = {machine.field: [removed.key, target.key]}
        audit.write(
            tx,
            (
                audit.entry(actor, now, entity.name, id_, "update", {**changes, "body": {"removed_state": removed.key}})
                for id_ in ids
            ),
        )
        if machine.field in entity.searchable:
            self.site.records.reindex(entity.name, ids, conn=tx)
        since = {row["id"]: row.pop("_entered") or row["created_at"] for row in rows}
        moved = [({**row, **values}, Move(set_key, removed.key, target)) for row in rows]
        states.write_events(self.site, tx, actor, entity, moved, since=since)


def _row(entity: Entity, set_key: str, state: State, position: int) -> dict[str, Any]:
    return {
        "entity": entity.name,
        "set_key": set_key,
        "key": state.key,
        "label": dict(state.label),
        "position": position,
        "kind": state.kind,
        "requires": list(state.requires),
        "permission": state.permission,
        "transitions": None if state.to is None else list(state.to),
    }


def _position(value: Any, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= size:
        raise ValidationError.at(["body", "position"], f"must be a whole number from 0 to {size}")
    return value


def _compare(before: dict[str, Any], after: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    for name, old in before.items():
        if after[name] != old:
            yield name, old, after[name]


def _is_integer(column: sa.Column[Any]) -> bool:
    try:
        return column.type.python_type is int
    except NotImplementedError:
        return False


def _in_set(entity: Entity, set_key: str) -> list[Any]:
    """The SQL condition for the records whose states come from ``set_key``."""
    machine = entity.states
    assert machine is not None
    if machine.set_by is None:
        return []
    column = entity.table.c[machine.set_by]
    return [column == (int(set_key) if _is_integer(column) else set_key)]
