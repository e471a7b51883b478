"""Who may decide about a record's owner, and the ownership events that record each change.

A record's owner field is read-only in an update: a record changes hands only
through :meth:`kernel.records.Records.assign` (``POST /api/v1/E/{id}/assign``,
the list's bulk assign, a pool's claim), which checks ``E.assign``, the record
rules and the new owner, writes the change through the update hooks and the
audit log, and keeps one row per change in ``kernel_ownership_events``.

Who **controls** a record (gives it away, decides who it is shared with): an
admin, its owner, or a holder of ``E.assign`` whose own record scope covers it
(a manager for the records of the team's people). Seeing a record because a
plugin's rule widened the view (a record shared with you) gives no control.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from . import permissions
from .errors import ValidationError
from .models import OwnershipEvent, User

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site

EVENTS = OwnershipEvent.__table__
USERS = User.__table__
ACTION = "assign"
MAX_REASON = 500


@dataclass(frozen=True)
class OwnerChange:
    """How and why records change hands, kept on each ownership event (and the audit entry's action).

    The kernel's own ``assign`` is ``OwnerChange()``. A plugin that moves owners by rules of its own
    says what it did: ``OwnerChange("claim", via_entity="queues", via_id=3, rule="round_robin")``.
    ``action`` is a short word (``claim``, ``release``, ``transfer``, ``return``); ``via_entity`` and
    ``via_id`` name the record the change went through (a pool, a queue); ``rule`` the rule or
    strategy that decided it. Only such a change may leave a record without an owner.
    """

    action: str = ACTION
    reason: str | None = None
    via_entity: str | None = None
    via_id: int | None = None
    rule: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or not self.action.isidentifier() or len(self.action) > 40:
            raise ValueError(f"an ownership action is a short word, not {self.action!r}")
        if (self.via_entity is None) != (self.via_id is None):
            raise ValueError("name both via_entity and via_id, or neither")


class AssignBody(BaseModel):
    """The body of ``POST /api/v1/E/{id}/assign``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    owner_id: int = Field(ge=1, lt=2**63, description="the new owner: an active user's id")
    reason: str | None = Field(None, max_length=MAX_REASON, description="why, kept with the ownership event and the audit entry")


def describe_action() -> dict[str, Any]:
    """``assign`` as ``/api/v1/meta/entities`` lists an entity's actions."""
    return {"name": ACTION, "label": {"en": "Assign", "zh_CN": "分配"}, "body": AssignBody.model_json_schema(), "confirm": None}


def controls(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any]) -> bool:
    """Whether ``actor`` decides who owns ``record`` and who it is shared with (see the module's text)."""
    if permissions.is_admin(actor):
        return True
    if actor.user_id is None or entity.owner_field is None:
        return False
    if record.get(entity.owner_field) == actor.user_id:
        return True
    if not permissions.allowed(site, actor, entity.name, ACTION):
        return False
    scope = permissions.grants(site, actor.role).scope(entity.name)
    if scope is None:
        return False
    condition = permissions.scope_condition(actor, entity, scope)
    if condition is None:
        return True
    table = entity.table
    return conn.scalar(sa.select(table.c.id).where(table.c.id == record["id"], condition)) is not None


def checked_owner(conn: sa.Connection, owner_id: Any, *, loc: str = "owner_id") -> int:
    """``owner_id`` if it names an active user; a 422 on ``loc`` otherwise."""
    if isinstance(owner_id, bool) or not isinstance(owner_id, int) or not 1 <= owner_id < 2**63:
        raise ValidationError.at([loc], "must be a user's id")
    active = conn.scalar(sa.select(USERS.c.active).where(USERS.c.id == owner_id))
    if active is None:
        raise ValidationError.at([loc], f"no user with id {owner_id}")
    if not active:
        raise ValidationError.at([loc], f"user {owner_id} is deactivated")
    return owner_id


def checked_reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ValidationError.at(["reason"], "must be a string")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValidationError.at(["reason"], f"must be at most {MAX_REASON} characters")
    return reason or None


def event(
    actor: Actor, at: datetime, entity: str, record_id: int, from_owner: int | None, to_owner: int | None, reason: str | None,
    change: OwnerChange | None = None,
) -> dict[str, Any]:
    """One ``kernel_ownership_events`` row (the actor is a user, or a job named by its label)."""
    change = change or OwnerChange()
    return {
        "action": change.action,
        "via_entity": change.via_entity,
        "via_id": change.via_id,
        "rule": change.rule,
        "entity": entity,
        "record_id": record_id,
        "from_owner": from_owner,
        "to_owner": to_owner,
        "actor_id": actor.user_id,
        "actor": actor.label,
        "reason": reason,
        "at": at,
    }


def write(conn: sa.Connection, events: list[dict[str, Any]]) -> None:
    if events:
        conn.execute(sa.insert(EVENTS), events)


def events_of(conn: sa.Connection, entity: str, record_id: int) -> list[dict[str, Any]]:
    """A record's ownership events, oldest first: dicts with ``entity``, ``record_id``, ``from_owner``,
    ``to_owner``, ``actor_id`` (``None`` for a job), ``actor``, ``reason``, ``at``, ``action``,
    ``via_entity``, ``via_id`` and ``rule`` (see :class:`OwnerChange`)."""
    query = sa.select(EVENTS).where(EVENTS.c.entity == entity, EVENTS.c.record_id == record_id).order_by(EVENTS.c.id)
    return [dict(row._mapping) for row in conn.execute(query)]


def uncontrolled(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, records: list[dict[str, Any]]) -> list[int]:
    """The ids of ``records`` that ``actor`` does not control (:func:`controls` for a batch, one query at most)."""
    if permissions.is_admin(actor) or entity.owner_field is None:
        return []
    others = [r["id"] for r in records if actor.user_id is None or r.get(entity.owner_field) != actor.user_id]
    if not others:
        return []
    scope = permissions.grants(site, actor.role).scope(entity.name)
    if actor.user_id is None or scope is None or not permissions.allowed(site, actor, entity.name, ACTION):
        return others
    condition = permissions.scope_condition(actor, entity, scope)
    if condition is None:
        return []
    table, inside = entity.table, set()
    for start in range(0, len(others), 5000):
        inside.update(conn.scalars(sa.select(table.c.id).where(table.c.id.in_(others[start : start + 5000]), condition)))
    return [i for i in others if i not in inside]
