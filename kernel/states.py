"""State machines as data: which states a record may be in, how it moves, and a state event per move.

An entity names the column holding its state and where the states come from::

    Entity(..., states=StateMachine("status", states=(State("draft", {...}), State("done", {...}, kind="won"))))
    Entity(..., states=StateMachine("stage", set_by="board_id", outcome="outcome", snapshot=("amount",)))

With ``states`` the list is fixed in code. Without, admins edit the states as rows of
``kernel_states`` (``/api/v1/meta/entities/E/states``, or ``site.states`` from a plugin):
one set per value of the record's ``set_by`` column (a board's own stages), or a single
set when there is no ``set_by``. Records store a state's **key**, so renaming and
reordering change nothing in them; removing a state in use needs a ``move_to`` state,
and its records move there in the same transaction, each with a state event.

Every write through ``site.records`` checks a change of state: the state must be one of
its set (422), the move one the current state allows (409, ``allowed`` in the details),
the current state's ``requires`` fields filled in (422 naming each), the new state's
``permission`` held (403), and no ``before_transition`` hook may object. A create puts
the record in the state sent, or the set's first state. Each transition, the initial
state on create included, writes one ``kernel_state_events`` row (``from_state`` null on
create) with the seconds spent in the previous state and a snapshot of the entity's
``snapshot`` fields, then calls ``record_transition``, in the write's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit, permissions
from .errors import Conflict, Forbidden, ValidationError
from .models import StateDef, StateEvent

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site

STATES = StateDef.__table__
EVENTS = StateEvent.__table__
#: What a state means for the record's outcome; every kind but ``open`` ends the record's course.
KINDS = ("open", "won", "lost", "closed")
STATE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_LABEL = 80
MAX_SET_KEY = 80
AUDIT_ENTITY = "states"
EVENT_FIELDS = ("id", "set_key", "from_state", "to_state", "kind", "actor_id", "actor", "at", "seconds", "snapshot")
STATE_CHANGES = ("label", "kind", "requires", "permission", "to")


@dataclass(frozen=True)
class State:
    """One state: a stable ASCII ``key`` (what records store), ``label`` in ``en`` and ``zh_CN``, a
    ``kind`` (``open``, ``won``, ``lost``, ``closed``), the fields ``requires``-d to leave it, the
    ``permission`` (``"E.approve"``) needed to enter it, and the keys it may move ``to`` (``None``: any)."""

    key: str
    label: dict[str, str]
    kind: str = "open"
    requires: tuple[str, ...] = ()
    permission: str | None = None
    to: tuple[str, ...] | None = None

    def as_public(self, position: int) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": dict(self.label),
            "position": position,
            "kind": self.kind,
            "terminal": self.kind != "open",
            "requires": list(self.requires),
            "permission": self.permission,
            "to": None if self.to is None else list(self.to),
        }


@dataclass(frozen=True)
class StateMachine:
    """Which column of an entity holds its state, and where the states come from (see the module).

    ``states``: the fixed list, in order (the first is where a new record starts); empty: admins
    edit the states. ``set_by``: the column whose value picks the record's set of admin-edited
    states. ``outcome``: a text column set to the new state's kind on each move. ``snapshot``:
    fields (columns or custom fields) copied into each state event, such as an amount.
    """

    field: str
    states: tuple[State, ...] = ()
    set_by: str | None = None
    outcome: str | None = None
    snapshot: tuple[str, ...] = field(default=())

    @property
    def editable(self) -> bool:
        """Whether admins edit the states (no fixed list)."""
        return not self.states


# -- declarations ---------------------------------------------------------------------


def _state_problems(state: State, keys: Iterable[str]) -> dict[str, str]:
    """What is wrong with ``state`` in a set of ``keys`` (its own included), field → reason."""
    found: dict[str, str] = {}
    if not isinstance(state.key, str) or not STATE_KEY.match(state.key):
        found["key"] = "must be snake_case ASCII starting with a letter, at most 40 characters"
    label = state.label
    if not isinstance(label, dict) or set(label) != {"en", "zh_CN"} or not all(
        isinstance(v, str) and v.strip() and len(v) <= MAX_LABEL for v in label.values()
    ):
        found["label"] = f"must be {{\"en\": ..., \"zh_CN\": ...}}, each 1 to {MAX_LABEL} characters"
    if state.kind not in KINDS:
        found["kind"] = f"must be one of {', '.join(KINDS)}"
    if not isinstance(state.requires, tuple) or not all(isinstance(n, str) and n for n in state.requires):
        found["requires"] = "must be a list of field names"
    if state.permission is not None and (not isinstance(state.permission, str) or "." not in state.permission):
        found["permission"] = "must be a permission name such as 'notes.approve'"
    if state.to is not None:
        known = set(keys)
        if not isinstance(state.to, tuple) or not all(isinstance(k, str) for k in state.to):
            found["to"] = "must be a list of state keys, or null for any"
        else:
            unknown = [k for k in state.to if k not in known or k == state.key]
            if unknown:
                found["to"] = f"{unknown[0]!r} is not another state of this set"
    return found


def check_machine(entity: Entity) -> None:
    """Refuse, at start-up, a ``states`` declaration the kernel could not honour."""
    machine = entity.states
    if machine is None:
        return
    where = f"entity {entity.name!r}: states"
    if not isinstance(machine, StateMachine):
        raise TypeError(f"{where}: give a StateMachine")
    columns = entity.table.c
    for role, name in (("field", machine.field), ("set_by", machine.set_by), ("outcome", machine.outcome)):
        if name is not None and name not in columns:
            raise TypeError(f"{where}: {role} {name!r} is not a column of its table")
    for role, name in (("field", machine.field), ("outcome", machine.outcome)):
        if name is not None and not isinstance(columns[name].type, sa.String):
            raise TypeError(f"{where}: {role} {name!r} must be a text column")
    if machine.states and machine.set_by is not None:
        raise TypeError(f"{where}: a fixed list of states is one set; set_by is for admin-edited states")
    keys = [s.key for s in machine.states]
    if len(set(keys)) != len(keys):
        raise TypeError(f"{where}: state keys repeat")
    for state in machine.states:
        wrong = _state_problems(state, keys)
        if wrong:
            key, reason = next(iter(wrong.items()))
            raise TypeError(f"{where}: state {state.key!r}: {key} {reason}")


# -- reading the sets ---------------------------------------------------------------------


def _from_row(row: Any) -> State:
    return State(
        key=row.key,
        label=dict(row.label),
        kind=row.kind,
        requires=tuple(row.requires or ()),
        permission=row.permission,
        to=None if row.transitions is None else tuple(row.transitions),
    )


def set_of(machine: StateMachine, record: dict[str, Any]) -> str | None:
    """The key of the set ``record``'s states come from (``""`` for an entity with one set; ``None``
    when its ``set_by`` column is empty)."""
    if machine.set_by is None:
        return ""
    value = record.get(machine.set_by)
    return None if value is None else str(value)


def definitions(conn: sa.Connection, entity: Entity, set_key: str, *, lock: str | None = None) -> list[State]:
    """The states of one set, in order.

    ``lock`` (PostgreSQL; SQLite's write lock serializes writers anyway): ``"share"`` for a
    write that relies on the set (an admin's change waits for it, and it for the change),
    ``"update"`` for an admin's change of the set.
    """
    machine = entity.states
    if machine is None:
        return []
    if machine.states:
        return list(machine.states) if set_key == "" else []
    query = (
        sa.select(STATES)
        .where(STATES.c.entity == entity.name, STATES.c.set_key == set_key)
        .order_by(STATES.c.position, STATES.c.id)
    )
    if lock is not None and conn.dialect.name == "postgresql":
        query = query.with_for_update(read=lock == "share")
    return [_from_row(row) for row in conn.execute(query)]


def _keys(states: Sequence[State]) -> str:
    return ", ".join(s.key for s in states) or "none"


def _find(states: Sequence[State], key: Any) -> State | None:
    return next((s for s in states if s.key == key), None)


def _holds(actor: Actor, site: Site, permission: str) -> bool:
    return permissions.is_admin(actor) or permissions.grants(site, actor.role).allows(permission)


def _value(entity: Entity, record: dict[str, Any], name: str) -> Any:
    if name in entity.table.c and name != "custom":
        return record.get(name)
    return (record.get("custom") or {}).get(name)


def _loc(entity: Entity, name: str) -> list[str]:
    return [name] if name in entity.table.c else ["custom", name]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not (value.strip() if isinstance(value, str) else value))


# -- checking a write -------------------------------------------------------------------------


@dataclass
class Move:
    """A transition checked before the write; :func:`write_events` records it once the row is stored."""

    set_key: str
    from_state: str | None
    to: State


def _entering(
    site: Site, hook: Any, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], old: State | None, new: State
) -> None:
    """The checks every transition passes: the permission to enter ``new``, then the plugins' veto (``hook``)."""
    if new.permission is not None and not _holds(actor, site, new.permission):
        raise Forbidden(
            f"moving to {new.key!r} needs the permission {new.permission!r}",
            [{"loc": [entity.states.field if entity.states else "state"], "msg": f"needs the permission {new.permission}"}],
        )
    hook(
        site=site, conn=conn, actor=actor, entity=entity.name, record=record, from_state=old.key if old else None, to_state=new.key
    )


def _unknown(field_: str, key: Any, states: Sequence[State], set_key: str) -> ValidationError:
    where = f" of set {set_key!r}" if set_key else ""
    return ValidationError.at([field_], f"unknown state {key!r}{where}; one of: {_keys(states)}")


def check_create(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, rows: list[dict[str, Any]]) -> list[Move]:
    """Put each new row in its state (the one sent, or its set's first) and check it; one :class:`Move` per row."""
    machine = entity.states
    if machine is None:
        return []
    hook = site.view.pm.hook.before_transition
    found: dict[str, list[State]] = {}
    moves = []
    for values in rows:
        set_key = set_of(machine, values)
        if set_key is None:
            raise ValidationError.at([machine.set_by or ""], f"is required: it chooses the states of {machine.field}")
        states = found.get(set_key)
        if states is None:
            states = found[set_key] = definitions(conn, entity, set_key, lock="share")
        if not states:
            raise ValidationError.at([machine.set_by or machine.field], f"set {set_key!r} has no states yet")
        key = values.get(machine.field)
        state = states[0] if key is None else _find(states, key)
        if state is None:
            raise _unknown(machine.field, key, states, set_key)
        values[machine.field] = state.key
        if machine.outcome is not None:
            values[machine.outcome] = state.kind
        _entering(site, hook, conn, actor, entity, values, None, state)
        moves.append(Move(set_key, None, state))
    return moves


def check_change(
    site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], changes: dict[str, Any]
) -> Move | None:
    """Check the change of state ``changes`` make to ``record`` (``None`` when they make none).

    ``changes`` holds ``custom`` merged already; the outcome column is set in it.
    """
    machine = entity.states
    if machine is None or (machine.field not in changes and (machine.set_by is None or machine.set_by not in changes)):
        return None
    after = {**record, **changes}
    old_set, new_set = set_of(machine, record), set_of(machine, after)
    old_key, new_key = record.get(machine.field), after.get(machine.field)
    if old_key == new_key and old_set == new_set:
        return None
    if new_set is None:
        raise ValidationError.at([machine.set_by or ""], f"is required: it chooses the states of {machine.field}")
    states = definitions(conn, entity, new_set, lock="share")
    if new_key is None:
        raise ValidationError.at([machine.field], f"a {entity.name} record always has a state; one of: {_keys(states)}")
    new = _find(states, new_key)
    if new is None:
        raise _unknown(machine.field, new_key, states, new_set)
    if old_key == new_key:  # another set holding the same key: no transition
        return None
    old = _find(states if old_set == new_set else definitions(conn, entity, old_set or ""), old_key)
    if old is not None and old_set == new_set and old.to is not None and new.key not in old.to:
        allowed = list(old.to)
        message = f"cannot move from {old.key!r} to {new.key!r}; allowed: {', '.join(allowed) or 'none'}"
        raise Conflict(f"{machine.field}: {message}", [{"loc": [machine.field], "msg": message, "allowed": allowed}])
    if old is not None:
        missing = [name for name in old.requires if _empty(_value(entity, after, name))]
        if missing:
            details = [{"loc": _loc(entity, name), "msg": f"required to leave {old.key!r}"} for name in missing]
            raise ValidationError(f"{'.'.join(details[0]['loc'])}: {details[0]['msg']}", details)
    _entering(site, site.view.pm.hook.before_transition, conn, actor, entity, after, old, new)
    if machine.outcome is not None:
        changes[machine.outcome] = new.kind
    return Move(new_set, old_key, new)


# -- state events ---------------------------------------------------------------------------------


def _snapshot(entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
    machine = entity.states
    names = machine.snapshot if machine else ()
    return audit.jsonable({name: _value(entity, record, name) for name in names})


def _entered(conn: sa.Connection, entity: Entity, ids: Sequence[int]) -> dict[int, datetime]:
    """When each of ``ids`` entered its current state: its last state event's time."""
    if not ids:
        return {}
    latest = (
        sa.select(EVENTS.c.record_id, sa.func.max(EVENTS.c.id).label("last"))
        .where(EVENTS.c.entity == entity.name, EVENTS.c.record_id.in_(list(ids)))
        .group_by(EVENTS.c.record_id)
        .subquery()
    )
    query = sa.select(EVENTS.c.record_id, EVENTS.c.at).join(latest, EVENTS.c.id == latest.c.last)
    return {row.record_id: row.at for row in conn.execute(query)}


def _event(actor: Actor, at: datetime, entity: Entity, record: dict[str, Any], move: Move, seconds: int | None) -> dict[str, Any]:
    return {
        "entity": entity.name,
        "record_id": record["id"],
        "set_key": move.set_key,
        "from_state": move.from_state,
        "to_state": move.to.key,
        "kind": move.to.kind,
        "actor_id": actor.user_id,
        "actor": actor.label,
        "at": at,
        "seconds": seconds,
        "snapshot": _snapshot(entity, record),
    }


def write_events(
    site: Site,
    conn: sa.Connection,
    actor: Actor,
    entity: Entity,
    moved: Sequence[tuple[dict[str, Any], Move]],
    *,
    created: bool = False,
    since: dict[int, datetime] | None = None,
) -> None:
    """Write one state event per ``(record as stored, move)`` and call ``record_transition`` for each.

    The time in the previous state runs from ``since[id]`` when given, else from the record's
    last state event (its creation when it has none); a ``created`` record has none.
    """
    if not moved:
        return
    now = site.clock.now()
    if since is None:
        since = {} if created else _entered(conn, entity, [record["id"] for record, _ in moved])
    events = []
    for record, move in moved:
        start = None if created else since.get(record["id"], record.get("created_at"))
        seconds = None if start is None else max(0, int((now - start).total_seconds()))
        events.append(_event(actor, now, entity, record, move, seconds))
    conn.execute(sa.insert(EVENTS), events)
    audit.write(conn, (  # ENTITY.transition events, beside the ENTITY.updated/created of the write itself
        audit.entry(actor, now, entity.name, e["record_id"], "transition",
                    audit.jsonable({k: e[k] for k in ("set_key", "from_state", "to_state", "kind", "seconds")}))
        for e in events
    ))
    hook = site.view.pm.hook.record_transition
    if hook.get_hookimpls():
        for event in events:
            hook(site=site, conn=conn, actor=actor, entity=entity.name, event=dict(event))


def events_of(conn: sa.Connection, entity: str, record_id: int, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """A record's state events, oldest first."""
    query = (
        sa.select(*(EVENTS.c[name] for name in EVENT_FIELDS))
        .where(EVENTS.c.entity == entity, EVENTS.c.record_id == record_id)
        .order_by(EVENTS.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(row._mapping) for row in conn.execute(query)]
