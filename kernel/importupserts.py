"""Upserts in imports (``crm import --on-duplicate update --key FIELD``): a row whose key matches a
stored record updates it, field by field, under a policy — take theirs (the file's value), keep
ours (the stored value), or fill empty only — instead of being skipped as a duplicate.

The records a batch matches are found in one query (by the key's exact value, within the
importing user's record rules); each update goes through ``site.records.update``, so it is
validated, authorized, hooked and audited like any other change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .errors import RecordError

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site

POLICIES = ("theirs", "ours", "empty")
_EMPTY = (None, "", [], {})


@dataclass(frozen=True)
class Upsert:
    """Match on ``key`` (a built-in field); ``policy`` for every field but those in ``fields`` (field key → policy)."""

    key: str
    policy: str = "theirs"
    fields: dict[str, str] = field(default_factory=dict)

    def check(self, entity: Entity) -> None:
        from .importing import ImportRefused

        if self.key not in entity.table.c or self.key in ("id", "created_at", "updated_at", "custom"):
            raise ImportRefused(f"--key {self.key!r} is not a field of {entity.name} to match records on")
        for name, policy in {"": self.policy, **self.fields}.items():
            if policy not in POLICIES:
                raise ImportRefused(f"policy {policy!r}{' for ' + name if name else ''} must be one of {', '.join(POLICIES)}")

    def changes(self, stored: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """What the row changes in ``stored`` under the policies (nothing for values already equal)."""
        changes: dict[str, Any] = {}
        custom_stored = stored.get("custom") or {}
        for name, value in data.items():
            if name == "custom":
                custom = {k: v for k, v in value.items() if self._takes(f"custom.{k}", custom_stored.get(k), v)}
                if custom:
                    changes["custom"] = custom
            elif name != self.key and self._takes(name, stored.get(name), value):
                changes[name] = value
        return changes

    def _takes(self, key: str, ours: Any, theirs: Any) -> bool:
        policy = self.fields.get(key, self.policy)
        if policy == "ours" or ours == theirs:
            return False
        return policy == "theirs" or ours in _EMPTY


def matched(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, upsert: Upsert, batch: list[tuple[int, dict[str, Any]]]) -> dict[int, list[dict[str, Any]]]:
    """Per row number of ``batch``, the stored records its key value matches (one query)."""
    values = {data.get(upsert.key) for _, data in batch} - {None, ""}
    if not values:
        return {}
    table = entity.table
    found: dict[Any, list[dict[str, Any]]] = {}
    query = sa.select(table).where(table.c[upsert.key].in_(sorted(values, key=str)), site.records.visible(actor, entity.name))
    for row in conn.execute(query):
        found.setdefault(row._mapping[upsert.key], []).append(dict(row._mapping))
    return {number: found[data[upsert.key]] for number, data in batch if data.get(upsert.key) in found}


def apply(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, upsert: Upsert, stored: dict[str, Any], data: dict[str, Any]) -> bool | RecordError:
    """Update ``stored`` from ``data`` in a savepoint: True when changed, False when nothing to change, the error when refused."""
    changes = upsert.changes(stored, data)
    if not changes:
        return False
    savepoint = conn.begin_nested()
    try:
        site.records.update(actor, entity.name, stored["id"], changes, conn=conn)
    except RecordError as exc:
        savepoint.rollback()
        return exc
    savepoint.commit()
    return True
