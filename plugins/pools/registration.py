"""What a client plugin hands to the kernel's start-up registrations for its :class:`PoolKind`:

    @hookimpl
    def register_entity_actions():
        return pools.entity_actions(KIND)      # claim, assign, release, transfer on the pooled entity

    @hookimpl
    def register_masks():
        return pools.masks(KIND, LeadPool)     # the pool's masked_fields, for members, until held

    @hookimpl
    def register_timers():
        return pools.timers(KIND)              # return and reminder deadlines

(The kernel collects these before any plugin's hooks can be asked, so the kind is handed over.)
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from kernel import N_, Action, Conflict, Mask, Timer

from . import operations, returns
from .kinds import kind_of
from .rules import is_member, load_pools
from .sqlbits import list_has

if TYPE_CHECKING:
    from kernel import Actor, Entity, Site

    from .kinds import PoolKind

MAX_REASON = 500


class ClaimBody(BaseModel):
    """``POST /api/v1/E/{id}/claim``."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=MAX_REASON)


class ReleaseBody(BaseModel):
    """``POST /api/v1/E/{id}/release``: the reason is a code or label of the list ``pools.release_reasons``."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class PoolAssignBody(BaseModel):
    """``POST /api/v1/E/{id}/assign`` (a pool admin) and ``…/transfer`` (the owner): the member to give it to."""

    model_config = ConfigDict(extra="forbid", strict=True)
    owner_id: int = Field(ge=1, lt=2**63)
    reason: str | None = Field(None, max_length=MAX_REASON)


def _claim(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: ClaimBody) -> dict[str, Any]:
    return operations.claim_locked(site, conn, actor, entity.name, record, reason=body.reason)


def _claim_unseen(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record_id: Any) -> None:
    """A member who lost the race for a record no longer sees it: they hear it is taken (409), not 404."""
    kind = kind_of(site, entity.name)
    if kind is None or actor.user_id is None or not isinstance(record_id, int):
        return
    table = entity.table
    row = conn.execute(sa.select(table.c[kind.owner(entity)], table.c[kind.pool_field]).where(table.c.id == record_id)).first()
    if row is None or row[0] is None or row[1] is None:
        return
    pool = load_pools(site, conn, kind, {row[1]}).get(row[1])
    if pool is not None and is_member(pool, actor.user_id, actor.team_id):
        raise Conflict(N_("this record is already owned by someone else"), [{"loc": ["id"], "msg": "already owned"}])


def _assign(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: PoolAssignBody) -> dict[str, Any]:
    return operations.assign_locked(site, conn, actor, entity.name, record, body.owner_id, reason=body.reason)


def _release(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: ReleaseBody) -> dict[str, Any]:
    return operations.release_locked(site, conn, actor, entity.name, record, body.reason)


def _transfer(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: PoolAssignBody) -> dict[str, Any]:
    return operations.transfer_locked(site, conn, actor, entity.name, record, body.owner_id, reason=body.reason)


def actions(entity: str) -> list[Action]:
    """The pool operations as actions of ``entity``; the web UI releases through the reason dialog of
    :mod:`.release_page`."""
    return [
        Action("claim", {"en": "Claim", "zh_CN": "领取"}, _claim, ClaimBody, unseen=_claim_unseen),
        Action("assign", {"en": "Assign", "zh_CN": "分配"}, _assign, PoolAssignBody),
        Action("release", {"en": "Release", "zh_CN": "释放"}, _release, ReleaseBody,
               confirm={"en": "Put this record back into its pool?", "zh_CN": "确定将此记录放回池中？"},
               page=f"/p/pools/release/{entity}/{{id}}"),
        Action("transfer", {"en": "Transfer", "zh_CN": "转移"}, _transfer, PoolAssignBody),
    ]


def entity_actions(*kinds: PoolKind) -> dict[str, list[Action]]:
    """``register_entity_actions``' answer: the pool actions on each kind's pooled entity."""
    return {kind.entity: actions(kind.entity) for kind in kinds}


def masks(kind: PoolKind, pools: Any) -> list[Mask]:
    """``register_masks``' answer: each maskable field of ``kind`` is masked on an unowned record for a
    member of its pool when the pool lists the field in ``masked_fields`` (never for the pool's admins).
    ``pools`` is the pool entity's model (or table)."""
    table = pools if isinstance(pools, sa.Table) else pools.__table__
    return [Mask(kind.entity, (name,), when=_masked_when(kind, table, name), reason="unclaimed pool record") for name in kind.maskable]


def _masked_when(kind: PoolKind, pools: sa.Table, name: str) -> Any:
    def when(actor: Actor, table: sa.Table) -> sa.ColumnElement[bool] | None:
        if actor.role == "admin":
            return None
        return _masked(table, kind.owner_field or "owner_id", kind.pool_field, pools, name, actor.user_id, actor.team_id)

    return when


@lru_cache(maxsize=4096)
def _masked(table: sa.Table, owner_field: str, pool_field: str, pools: sa.Table, name: str, user_id: int | None, team_id: int | None) -> sa.ColumnElement[bool]:
    """The condition of :func:`_masked_when`, built once per field and user (every read of a masked record asks)."""
    admin = [list_has(pools.c.admin_ids, user_id)] if user_id is not None else []
    if team_id is not None:
        admin.append(list_has(pools.c.admin_team_ids, team_id))
    masking = sa.select(pools.c.id).where(list_has(pools.c.masked_fields, name), sa.not_(sa.or_(*admin)) if admin else sa.true())
    return sa.and_(table.c[owner_field].is_(None), table.c[pool_field].in_(masking))


def timers(*kinds: PoolKind) -> list[Timer]:
    """``register_timers``' answer: each kind's return deadline and reminder (see :mod:`.returns`)."""
    found = []
    for kind in kinds:
        held = (kind.owner_field or "owner_id", kind.pool_field)  # an unowned record, or one outside a pool, has no deadline
        depends = tuple(n for n in (*held, kind.activity_field, kind.level_field) if n)
        found.append(Timer(returns.RETURN, kind.entity, returns.return_due, due_many=_return_times, depends_on=depends, requires=held,
                           batch_size=returns.BATCH,
                           sqlite_batch_size=returns.SQLITE_BATCH, label={"en": "Return to the pool", "zh_CN": "回收到池"}))
        found.append(Timer(returns.REMIND, kind.entity, returns.remind_due, due_many=_remind_times, depends_on=depends, requires=held,
                           label={"en": "Remind before the return", "zh_CN": "回收前提醒"}))
    return found


def _return_times(site: Site, conn: sa.Connection, entity: str, records: list[dict[str, Any]]) -> list[Any]:
    """The return timer's ``due_many``: a pool operation's record with the pool and hold it has."""
    return returns.return_times(site, conn, entity, records, **operations.known_rows(site, entity, records))


def _remind_times(site: Site, conn: sa.Connection, entity: str, records: list[dict[str, Any]]) -> list[Any]:
    """The reminder timer's ``due_many``: a pool operation's record with the pool and hold it has."""
    return returns.remind_times(site, conn, entity, records, **operations.known_rows(site, entity, records))
