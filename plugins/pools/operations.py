"""Claim, assign, release, transfer: each one transaction through ``site.records`` and the kernel's assign
path, with the pool's checks before and the counters taken by conditional updates (:mod:`.holdings`).

Refusals are 409s (``Conflict``) whose sentence the catalogs translate; a record the actor may not
see is a 404, as everywhere.

A claim is a few statements, most of them writes: the record is read once with its row lock (by the
entity action's kernel path, which hands it to the ``*_locked`` functions here, or by :func:`_locked`),
the kernel's assign path takes that row instead of reading it again, and the record's return and
reminder deadlines, which the kernel re-arms in the owner change, use the pool and the hold the
operation already has (:data:`MOVING`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import N_, Conflict, NotFound, OwnerChange, ValidationError, local_date, site_zone

from . import holdings
from .kinds import PoolKind, kind_of
from .rules import effective, is_admin, is_member, load_pool

if TYPE_CHECKING:
    from kernel import Actor, Site

#: True while a pool operation changes owners: the update hooks leave the counters to it.
OPERATING: ContextVar[bool] = ContextVar("pools_operating", default=False)
#: While a pool operation changes one record's owner: ``(entity, record id, its pool, its hold row)`` as the
#: operation read and wrote them, for that record's deadlines (:func:`known_rows`).
MOVING: ContextVar[tuple[str, int, dict[str, Any], dict[str, Any] | None] | None] = ContextVar("pools_moving", default=None)


@contextmanager
def operating() -> Iterator[None]:
    token = OPERATING.set(True)
    try:
        yield
    finally:
        OPERATING.reset(token)


def require_kind(site: Site, entity: str) -> PoolKind:
    kind = kind_of(site, entity)
    if kind is None:
        raise NotFound(f"{entity} records are not pooled", [{"loc": ["entity"], "msg": "not a pooled entity"}])
    return kind


def _locked(site: Site, conn: sa.Connection, kind: PoolKind, actor: Actor, record_id: int) -> dict[str, Any]:
    """The record as stored, locked until the transaction ends (PostgreSQL; SQLite writes one at a time),
    after checking ``actor`` sees it (404 otherwise)."""
    site.records.get(actor, kind.entity, record_id, conn=conn)
    table = site.view.entities[kind.entity].table
    query = sa.select(table).where(table.c.id == record_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=table)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no {kind.entity} record with id {record_id}", [{"loc": ["id"], "msg": "not found"}])
    return dict(row._mapping)


def _given(site: Site, kind: PoolKind, actor: Actor, record: dict[str, Any]) -> dict[str, Any]:
    """The record an entity action's handler is given: the kernel read it with its row lock, within
    ``actor``'s record rules for changes (narrower than for reading), so of :func:`_locked`'s checks only
    the read permission is left."""
    site.records.authorize(actor, kind.entity, "read", record)
    return record


def _pool_of(site: Site, conn: sa.Connection, kind: PoolKind, record: dict[str, Any]) -> dict[str, Any]:
    pool_id = record.get(kind.pool_field)
    if pool_id is None:
        raise Conflict(N_("this record is not in a pool"), [{"loc": [kind.pool_field], "msg": "not in a pool"}])
    return load_pool(site, conn, kind, pool_id)


def _when(site: Site, moment: Any) -> str:
    return moment.astimezone(site_zone(site)).strftime("%Y-%m-%d %H:%M")


def _take(site: Site, conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], record: dict[str, Any], user_id: int, *, daily: bool) -> None:
    """Check the cooldown and take a slot (and a daily claim) for ``user_id``, or refuse."""
    now = site.clock.now()
    until = holdings.cooldown_until(conn, kind.entity, record["id"], user_id, now)
    if until is not None:
        raise Conflict.worded(N_("cooldown: this record may be taken again from %(until)s"), [{"loc": ["id"], "msg": "cooldown"}], until=_when(site, until))
    rules = effective(pool, record.get(kind.level_field) if kind.level_field else None)
    if not holdings.take_slot(conn, kind.entity, pool["id"], user_id, rules.claim_limit):
        raise Conflict.worded(N_("claim limit reached: %(limit)s records held from this pool"), [{"loc": ["owner_id"], "msg": "limit"}],
                              limit=rules.claim_limit)
    if daily and not holdings.take_daily(conn, kind.entity, pool["id"], user_id, local_date(now, site_zone(site)), rules.daily_claim_limit):
        raise Conflict.worded(N_("daily claim limit reached: %(limit)s claims today"), [{"loc": ["owner_id"], "msg": "daily limit"}],
                              limit=rules.daily_claim_limit)


def _move(
    site: Site, conn: sa.Connection, kind: PoolKind, actor: Actor, pool: dict[str, Any], record: dict[str, Any], to_owner: int | None,
    action: str, reason: str | None, rule: str | None = None, *, hold: dict[str, Any] | None = None, locked: bool = True,
) -> dict[str, Any]:
    """Change the owner through the kernel's assign path (as ``actor``, rights raised for the pool's rule).

    ``hold``: the record's hold row as just written (none for a release). ``locked``: ``record`` was read
    with its row lock in this transaction and is as stored, so the kernel does not read it again."""
    change = OwnerChange(action, reason=reason, via_entity=kind.pool_entity, via_id=record[kind.pool_field], rule=rule)
    stored = {record["id"]: record} if locked else None
    moving = MOVING.set((kind.entity, record["id"], pool, hold))
    try:
        with operating():
            site.records.assign(actor.elevated(f"pools.{action}"), kind.entity, [record["id"]], to_owner, change=change, conn=conn, stored=stored)
    finally:
        MOVING.reset(moving)
    owner = kind.owner(site.view.entities[kind.entity])
    site.view.pm.hook.pools_after_change(site=site, conn=conn, entity=kind.entity, action=action, changes=[{
        "record_id": record["id"], "pool_id": record[kind.pool_field], "from_owner": record[owner], "to_owner": to_owner,
        "reason": reason, "rule": rule,
    }])
    return seen(site, conn, kind, actor, record["id"])


def known_rows(site: Site, entity: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """``pools`` and ``holds`` for :func:`.returns.return_times` and :func:`.returns.remind_times` when
    ``records`` is the one record a pool operation is moving (:data:`MOVING`) and still in the pool it
    was read from: the operation has them, so they are not read again. Otherwise nothing (they are read)."""
    moving = MOVING.get()
    if moving is None or moving[3] is None or len(records) != 1:
        return {}
    moved_entity, record_id, pool, hold = moving
    kind = kind_of(site, entity)
    record = records[0]
    if kind is None or moved_entity != entity or record["id"] != record_id or record.get(kind.pool_field) != pool["id"]:
        return {}
    return {"pools": {pool["id"]: pool}, "holds": {record_id: hold}}


def seen(site: Site, conn: sa.Connection, kind: PoolKind, actor: Actor, record_id: int) -> dict[str, Any]:
    """The record as ``actor`` sees it now, or only its id and owner when it left their sight."""
    try:
        return site.records.get(actor, kind.entity, record_id, conn=conn)
    except NotFound:
        table = site.view.entities[kind.entity].table
        owner = kind.owner(site.view.entities[kind.entity])
        return {"id": record_id, owner: conn.scalar(sa.select(table.c[owner]).where(table.c.id == record_id))}


def claim(site: Site, actor: Actor, entity: str, record_id: int, *, reason: str | None = None, conn: sa.Connection | None = None) -> dict[str, Any]:
    """``actor`` takes an unowned record of a pool they are a member of, within the limits and cooldown."""
    kind = require_kind(site, entity)
    with _transaction(site, conn) as tx:
        return _claim(site, tx, kind, actor, _locked(site, tx, kind, actor, record_id), reason)


def claim_locked(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], *, reason: str | None = None) -> dict[str, Any]:
    """:func:`claim` as the entity action's handler: ``record`` read with its row lock by the kernel."""
    kind = require_kind(site, entity)
    return _claim(site, conn, kind, actor, _given(site, kind, actor, record), reason)


def _claim(site: Site, tx: sa.Connection, kind: PoolKind, actor: Actor, record: dict[str, Any], reason: str | None) -> dict[str, Any]:
    owner = record[kind.owner(site.view.entities[kind.entity])]
    if owner == actor.user_id:
        raise Conflict(N_("you already hold this record"), [{"loc": ["id"], "msg": "already yours"}])
    if owner is not None:
        raise Conflict(N_("this record is already owned by someone else"), [{"loc": ["id"], "msg": "already owned"}])
    pool = _pool_of(site, tx, kind, record)
    if actor.user_id is None or not is_member(pool, actor.user_id, actor.team_id):
        raise Conflict(N_("you are not a member of this pool"), [{"loc": ["id"], "msg": "not a member"}])
    _take(site, tx, kind, pool, record, actor.user_id, daily=True)
    hold = holdings.hold(tx, kind.entity, record["id"], pool["id"], actor.user_id, site.clock.now())
    return _move(site, tx, kind, actor, pool, record, actor.user_id, "claim", reason, hold=hold)


def assign(
    site: Site, actor: Actor, entity: str, ids: Sequence[int], owner_id: int, *, reason: str | None = None, rule: str | None = None,
    conn: sa.Connection | None = None,
) -> list[dict[str, Any]]:
    """A pool admin gives records of their pools to a member, within the member's limit and cooldowns; all or none."""
    kind = require_kind(site, entity)
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ValidationError.at(["ids"], "name at least one record")
    done = []
    with _transaction(site, conn) as tx:
        team = _active_user_team(site, tx, owner_id)
        for index, record_id in enumerate(wanted):
            try:
                done.append(_assign_one(site, tx, kind, actor, _locked(site, tx, kind, actor, record_id), owner_id, team, reason, rule))
            except (Conflict, NotFound) as exc:
                if len(wanted) > 1:
                    exc.details = [{**d, "loc": ["ids", index, *d.get("loc", [])]} for d in exc.details]
                raise
    return done


def assign_locked(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], owner_id: int, *, reason: str | None = None,
) -> dict[str, Any]:
    """:func:`assign` of one record as the entity action's handler: ``record`` read with its row lock by the kernel."""
    kind = require_kind(site, entity)
    team = _active_user_team(site, conn, owner_id)
    return _assign_one(site, conn, kind, actor, _given(site, kind, actor, record), owner_id, team, reason, None)


def _assign_one(
    site: Site, tx: sa.Connection, kind: PoolKind, actor: Actor, record: dict[str, Any], owner_id: int, team: int | None, reason: str | None,
    rule: str | None,
) -> dict[str, Any]:
    pool = _pool_of(site, tx, kind, record)
    if not is_admin(pool, actor):
        raise Conflict(N_("only an admin of this pool may assign its records"), [{"loc": ["id"], "msg": "not a pool admin"}])
    previous = record[kind.owner(site.view.entities[kind.entity])]
    if previous == owner_id:
        return seen(site, tx, kind, actor, record["id"])
    if not is_member(pool, owner_id, team):
        raise Conflict(N_("the new owner is not a member of this pool"), [{"loc": ["owner_id"], "msg": "not a member"}])
    holdings.lock_slots(tx, kind.entity, pool["id"], [previous, owner_id])
    _take(site, tx, kind, pool, record, owner_id, daily=False)
    holdings.give_back(tx, kind.entity, holdings.unhold(tx, kind.entity, {record["id"]: (record[kind.pool_field], previous)}))
    hold = holdings.hold(tx, kind.entity, record["id"], pool["id"], owner_id, site.clock.now())
    return _move(site, tx, kind, actor, pool, record, owner_id, "assign", reason, rule, hold=hold)


def release(site: Site, actor: Actor, entity: str, record_id: int, reason: Any, *, conn: sa.Connection | None = None) -> dict[str, Any]:
    """The owner (or a pool admin) puts a record back into its pool, with a reason from ``pools.release_reasons``;
    the previous owner's cooldown starts."""
    kind = require_kind(site, entity)
    with _transaction(site, conn) as tx:
        code = release_reason(site, reason)
        return _release(site, tx, kind, actor, _locked(site, tx, kind, actor, record_id), code)


def release_locked(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], reason: Any) -> dict[str, Any]:
    """:func:`release` as the entity action's handler: ``record`` read with its row lock by the kernel."""
    kind = require_kind(site, entity)
    code = release_reason(site, reason)
    return _release(site, conn, kind, actor, _given(site, kind, actor, record), code)


def _held_for(site: Site, tx: sa.Connection, kind: PoolKind, actor: Actor, record: dict[str, Any], not_yours: str) -> tuple[int, dict[str, Any]]:
    """The record's owner and pool, when ``actor`` may let it go (its owner or an admin of its pool);
    else a 409: no owner, or ``not_yours`` (the operation's own sentence)."""
    owner = record[kind.owner(site.view.entities[kind.entity])]
    pool = _pool_of(site, tx, kind, record)
    if owner is None:
        raise Conflict(N_("this record has no owner"), [{"loc": ["id"], "msg": "not owned"}])
    if owner != actor.user_id and not is_admin(pool, actor):
        raise Conflict(not_yours, [{"loc": ["id"], "msg": "not yours"}])
    return owner, pool


def _release(site: Site, tx: sa.Connection, kind: PoolKind, actor: Actor, record: dict[str, Any], code: str) -> dict[str, Any]:
    owner, pool = _held_for(site, tx, kind, actor, record, N_("only its owner or an admin of its pool may release this record"))
    _let_go(site, tx, kind, pool, [record])
    return _move(site, tx, kind, actor, pool, record, None, "release", code)


def transfer(
    site: Site, actor: Actor, entity: str, record_id: int, owner_id: int, *, reason: str | None = None, conn: sa.Connection | None = None,
) -> dict[str, Any]:
    """The owner (or a pool admin) hands a record to another member, within that member's limit and cooldown."""
    kind = require_kind(site, entity)
    with _transaction(site, conn) as tx:
        team = _active_user_team(site, tx, owner_id)
        return _transfer(site, tx, kind, actor, _locked(site, tx, kind, actor, record_id), owner_id, team, reason)


def transfer_locked(
    site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], owner_id: int, *, reason: str | None = None,
) -> dict[str, Any]:
    """:func:`transfer` as the entity action's handler: ``record`` read with its row lock by the kernel."""
    kind = require_kind(site, entity)
    team = _active_user_team(site, conn, owner_id)
    return _transfer(site, conn, kind, actor, _given(site, kind, actor, record), owner_id, team, reason)


def _transfer(
    site: Site, tx: sa.Connection, kind: PoolKind, actor: Actor, record: dict[str, Any], owner_id: int, team: int | None, reason: str | None,
) -> dict[str, Any]:
    owner, pool = _held_for(site, tx, kind, actor, record, N_("only its owner or an admin of its pool may transfer this record"))
    if owner_id == owner:
        raise Conflict(N_("the new owner already holds this record"), [{"loc": ["owner_id"], "msg": "already the owner"}])
    if not is_member(pool, owner_id, team):
        raise Conflict(N_("the new owner is not a member of this pool"), [{"loc": ["owner_id"], "msg": "not a member"}])
    holdings.lock_slots(tx, kind.entity, pool["id"], [owner, owner_id])
    _take(site, tx, kind, pool, record, owner_id, daily=False)
    holdings.give_back(tx, kind.entity, holdings.unhold(tx, kind.entity, {record["id"]: (record[kind.pool_field], owner)}))
    hold = holdings.hold(tx, kind.entity, record["id"], pool["id"], owner_id, site.clock.now())
    return _move(site, tx, kind, actor, pool, record, owner_id, "transfer", reason, hold=hold)


def _let_go(
    site: Site, tx: sa.Connection, kind: PoolKind, pool: dict[str, Any], records: list[dict[str, Any]], holds: dict[int, dict[str, Any]] | None = None,
) -> None:
    """Free the owners' slots and start their cooldowns (records of one pool, as they were). ``holds``: their
    holds by record id as the return job read them, left in place (not live once the records have no
    owner: :class:`~.models.Hold`), the slots given back from them; else the holds are removed."""
    owner = kind.owner(site.view.entities[kind.entity])
    if holds is None:
        slots = holdings.unhold(tx, kind.entity, {r["id"]: (r[kind.pool_field], r[owner]) for r in records})
    else:
        found = ((holds.get(r["id"]), r) for r in records)
        slots = [(h["pool_id"], h["user_id"]) for h, r in found if holdings.live(h, r[kind.pool_field], r[owner]) and h["counted"]]
    holdings.give_back(tx, kind.entity, slots)
    now = site.clock.now()
    cooling = []
    days: dict[Any, int | None] = {}  # the cooldown per level, worked out once
    for record in records:
        level = record.get(kind.level_field) if kind.level_field else None
        if level not in days:
            days[level] = effective(pool, level).cooldown_days
        if days[level] and record[owner] is not None:
            cooling.append((record["id"], record[owner], now + timedelta(days=days[level])))
    holdings.start_cooldowns(tx, kind.entity, cooling)


def release_reason(site: Site, reason: Any) -> str:
    """The code of the release reason ``reason`` names (a code or a label of ``pools.release_reasons``), or a 422."""
    listed = site.view.option_lists.get("pools.release_reasons")
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationError.at(["reason"], N_("a release needs a reason"))
    options = [o for o in (listed.options if listed is not None else ()) if o.live]
    for option in options:
        if text == option.code or text in option.label.values():
            return option.code
    raise ValidationError.at(["reason"], f"must be one of {', '.join(o.code for o in options)}")


def _active_user_team(site: Site, conn: sa.Connection, user_id: Any) -> int | None:
    users = site.view.entities["users"].table
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise ValidationError.at(["owner_id"], "must be a user's id")
    row = conn.execute(sa.select(users.c.active, users.c.team_id).where(users.c.id == user_id)).first()
    if row is None:
        raise ValidationError.at(["owner_id"], f"no user with id {user_id}")
    if not row.active:
        raise ValidationError.at(["owner_id"], f"user {user_id} is deactivated")
    return row.team_id


@contextmanager
def _transaction(site: Site, conn: sa.Connection | None) -> Iterator[sa.Connection]:
    if conn is not None:
        yield conn
        return
    with site.write() as tx:
        yield tx



def place_one(site: Site, conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], record: dict[str, Any], owner_id: int, rule: str) -> bool:
    """Give an unowned record of ``pool`` to ``owner_id`` as the pool's strategy chose (the job acting), if the
    member's limit and cooldown allow; False leaves it in the pool. Inside a savepoint: a refusal undoes nothing else."""
    from kernel import Actor

    actor = Actor.system(job="pools.assign")
    try:
        with conn.begin_nested():
            _take(site, conn, kind, pool, record, owner_id, daily=False)
            hold = holdings.hold(conn, kind.entity, record["id"], pool["id"], owner_id, site.clock.now())
            _move(site, conn, kind, actor, pool, record, owner_id, "assign", None, rule, hold=hold, locked=False)
    except Conflict:
        return False
    return True
