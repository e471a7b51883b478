"""Merging two customers into one, and undoing it exactly.

``merge`` (on the survivor, body ``{"other_id": N, "fields": {"phone": "other"}}``)
moves the other customer's contacts, follow-ups and tasks (and, through
``customers_merge_related``, other plugins' rows) to the survivor, takes the
picked fields from the other side, deletes the other customer and keeps a
``customers_merges`` row with both records as they were and every moved row.
``unmerge`` (``{"merge_id": N}``) puts all of it back: the other customer
returns with its id and values, its rows return to it, the survivor's picked
fields get their old values. Only ``updated_at`` tells that a write happened.

Both run inside the action's transaction. The two customers are checked against
the merging user's permissions and record rules; their related rows (and other
plugins' rows, through the hooks' ``actor``) then move as a system action
(``actor.elevated("customers.merge")``): without record rules, since they follow the
customers, and audited in that user's name with the reason. The merged customer goes
to the recycle bin; ``unmerge`` restores it from there (``site.records.restore``, its
hooks and search index included), or from the merge's own copy once the bin purged it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import add_audit_entry, Conflict, jsonable, N_, NotFound, ValidationError

from .contact_rules import CONTACTS
from .customer_rules import sync_shares
from .fields import CustomerFields, MergeBody, UnmergeBody
from .models import Customer, Followup, Merge, Task
from .snapshots import column_value, row_values, snapshot

if TYPE_CHECKING:
    from kernel import Actor, Entity, Site

CUSTOMERS = Customer.__table__
MERGES = Merge.__table__
MOVABLE = {"followups": Followup.__table__, "tasks": Task.__table__}
PICKABLE = (*CustomerFields.model_fields, "custom")
#: Why a merge's rows move with every right (a system action: the audit log names the user and this)
MERGE_REASON = "customers.merge"
UNMERGE_REASON = "customers.unmerge"


def merge_customers(
    site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: MergeBody
) -> dict[str, Any]:
    survivor_id, other_id = record["id"], body.other_id
    if other_id == survivor_id:
        raise ValidationError.at(["body", "other_id"], N_("a customer cannot be merged into itself"))
    for name in body.fields:
        if name not in PICKABLE:
            raise ValidationError.at(["body", "fields", name], "unknown customer field")
    try:
        other = site.records.get(actor, "customers", other_id, conn=conn)
    except NotFound:
        raise ValidationError.at(["body", "other_id"], f"no customers record with id {other_id}") from None
    picks = _effective_picks(record, other, body.fields)
    saved = {"survivor": snapshot(conn, CUSTOMERS, survivor_id), "merged": snapshot(conn, CUSTOMERS, other_id)}
    mover = actor.elevated(MERGE_REASON)
    moved: dict[str, Any] = {"contacts": _move_contacts(site, conn, mover, other_id, survivor_id)}
    for name in MOVABLE:
        moved[name] = _move_rows(site, conn, mover, name, other_id, survivor_id)
    moved["plugins"] = _call_each(site, "customers_merge_related", conn=conn, actor=mover, survivor_id=survivor_id, merged_id=other_id)
    changes = {name: _other_value(record, other, name) for name, side in picks.items() if side == "other"}
    site.records.delete(actor, "customers", other_id, conn=conn)
    survivor = _write_survivor(site, conn, actor, record, changes, f"merge of customer {other_id}")
    now = site.clock.now()
    merge_id = conn.execute(
        sa.insert(MERGES)
        .values(
            survivor_id=survivor_id, merged_id=other_id, fields=picks, moved=moved, merged_at=now, merged_by=actor.user_id, **saved
        )
        .returning(MERGES.c.id)
    ).scalar_one()
    note = {"merge_id": merge_id, "survivor_id": survivor_id, "merged_id": other_id, "moved": _counts(moved)}
    add_audit_entry(conn, actor, "customers", other_id, "merged_into", note, at=now)
    return {"merge_id": merge_id, "merged_id": other_id, "moved": _counts(moved), "record": _public(entity, survivor)}


def unmerge_customers(
    site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: UnmergeBody
) -> dict[str, Any]:
    query = sa.select(MERGES).where(MERGES.c.id == body.merge_id, MERGES.c.survivor_id == record["id"])
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    merge = conn.execute(query).first()
    if merge is None:
        raise ValidationError.at(["body", "merge_id"], f"no merge {body.merge_id} into customers record {record['id']}")
    if merge.undone_at is not None:
        raise Conflict(f"merge {merge.id} was already undone", [{"loc": ["body", "merge_id"], "msg": "already undone"}])
    if conn.scalar(sa.select(CUSTOMERS.c.id).where(CUSTOMERS.c.id == merge.merged_id)) is not None:
        raise Conflict(f"customers record {merge.merged_id} exists again", [{"loc": ["body", "merge_id"], "msg": "cannot restore"}])
    now = site.clock.now()
    mover = actor.elevated(UNMERGE_REASON)
    _bring_back(site, conn, mover, merge)
    add_audit_entry(conn, actor, "customers", merge.merged_id, "unmerged", {"merge_id": merge.id}, at=now)
    _return_contacts(site, conn, mover, merge.moved["contacts"], merge.survivor_id, merge.merged_id)
    for name in MOVABLE:
        _return_rows(site, conn, mover, name, merge.moved[name], merge.survivor_id, merge.merged_id)
    for plugin, moved in (merge.moved.get("plugins") or {}).items():
        ids = {"survivor_id": merge.survivor_id, "merged_id": merge.merged_id}
        _call_one(site, plugin, "customers_unmerge_related", conn=conn, actor=mover, moved=moved, **ids)
    before = merge.survivor
    changes = {
        name: (before["custom"] if name == "custom" else column_value(CUSTOMERS.c[name], before[name]))
        for name, side in merge.fields.items()
        if side == "other"
    }
    if "custom" in changes:
        current = conn.scalar(sa.select(CUSTOMERS.c.custom).where(CUSTOMERS.c.id == merge.survivor_id)) or {}
        changes["custom"] = {key: changes["custom"].get(key) for key in {*current, *changes["custom"]}}
    survivor = _write_survivor(site, conn, actor, record, changes, f"undo of merge {merge.id}")
    conn.execute(sa.update(MERGES).where(MERGES.c.id == merge.id).values(undone_at=now, undone_by=actor.user_id))
    back = site.records.get(actor, "customers", merge.merged_id, conn=conn)
    return {"merge_id": merge.id, "restored": _public(entity, back), "record": _public(entity, survivor)}


def _bring_back(site: Site, conn: sa.Connection, mover: Actor, merge: Any) -> None:
    """The merged customer back from the recycle bin (whoever merged it); from the merge's own copy
    once the bin has purged it."""
    try:
        site.records.restore(mover, "customers", merge.merged_id, conn=conn)
        return
    except NotFound:
        pass
    restored = {**row_values(CUSTOMERS, merge.merged), "updated_at": site.clock.now()}
    conn.execute(sa.insert(CUSTOMERS).values(restored))
    site.records.reindex("customers", [merge.merged_id], conn=conn)
    sync_shares(conn, restored)
    add_audit_entry(conn, mover, "customers", merge.merged_id, "restore", {"merge_id": merge.id, "from": "merge copy"}, at=site.clock.now())


def _write_survivor(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], changes: dict[str, Any], reason: str) -> dict[str, Any]:
    """The picked values onto the survivor; a picked owner through the assign path (``customers.assign``)."""
    owner = changes.pop("owner_id", record["owner_id"])
    survivor = site.records.update(actor, "customers", record["id"], changes, conn=conn) if changes else record
    if owner != survivor["owner_id"]:
        survivor = site.records.assign(actor, "customers", [record["id"]], owner, reason, conn=conn)[0]
    return survivor


def _effective_picks(survivor: dict[str, Any], other: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    """The caller's picks, plus the later ``last_followed_at`` of the two when it was not picked."""
    picks = dict(fields)
    theirs, ours = other.get("last_followed_at"), survivor.get("last_followed_at")
    if "last_followed_at" not in picks and theirs is not None and (ours is None or theirs > ours):
        picks["last_followed_at"] = "other"
    return picks


def _other_value(survivor: dict[str, Any], other: dict[str, Any], name: str) -> Any:
    if name != "custom":
        return other[name]
    ours, theirs = survivor.get("custom") or {}, other.get("custom") or {}
    return {key: theirs.get(key) for key in {*ours, *theirs}}


def _move_contacts(site: Site, conn: sa.Connection, mover: Actor, from_id: int, to_id: int) -> list[dict[str, Any]]:
    """Move every contact; the survivor keeps its primary (or takes the other's, if it had none)."""
    rows = conn.execute(
        sa.select(CONTACTS.c.id, CONTACTS.c.is_primary).where(CONTACTS.c.customer_id == from_id).order_by(CONTACTS.c.is_primary.desc(), CONTACTS.c.id)
    ).all()
    keep_primary = conn.scalar(sa.select(CONTACTS.c.id).where(CONTACTS.c.customer_id == to_id, CONTACTS.c.is_primary.is_(True))) is None
    for index, row in enumerate(rows):
        primary = keep_primary and index == 0 and row.is_primary
        site.records.update(mover, "contacts", row.id, {"customer_id": to_id, "is_primary": primary}, conn=conn)
    return [{"id": row.id, "is_primary": row.is_primary} for row in rows]


def _return_contacts(site: Site, conn: sa.Connection, mover: Actor, moved: list[dict[str, Any]], from_id: int, to_id: int) -> None:
    still_there = set(conn.scalars(sa.select(CONTACTS.c.id).where(CONTACTS.c.customer_id == from_id)))
    for saved in sorted(moved, key=lambda c: (not c["is_primary"], c["id"])):
        if saved["id"] in still_there:
            site.records.update(mover, "contacts", saved["id"], {"customer_id": to_id, "is_primary": saved["is_primary"]}, conn=conn)


def _move_rows(site: Site, conn: sa.Connection, mover: Actor, entity: str, from_id: int, to_id: int) -> list[int]:
    table = MOVABLE[entity]
    ids = list(conn.scalars(sa.select(table.c.id).where(table.c.customer_id == from_id).order_by(table.c.id)))
    for row_id in ids:
        site.records.update(mover, entity, row_id, {"customer_id": to_id}, conn=conn)
    return ids


def _return_rows(site: Site, conn: sa.Connection, mover: Actor, entity: str, ids: list[int], from_id: int, to_id: int) -> None:
    table = MOVABLE[entity]
    still_there = list(conn.scalars(sa.select(table.c.id).where(table.c.customer_id == from_id, table.c.id.in_(ids)).order_by(table.c.id)))
    for row_id in still_there:
        site.records.update(mover, entity, row_id, {"customer_id": to_id}, conn=conn)


def _call_each(site: Site, hook: str, **kwargs: Any) -> dict[str, Any]:
    """Call ``hook`` on every implementing plugin; their non-empty answers by plugin name."""
    answers = {}
    for impl in getattr(site.view.pm.hook, hook).get_hookimpls():
        answer = impl.function(**{name: ({"site": site} | kwargs)[name] for name in impl.argnames})
        if answer:
            answers[impl.plugin_name] = answer
    return answers


def _call_one(site: Site, plugin: str, hook: str, **kwargs: Any) -> None:
    for impl in getattr(site.view.pm.hook, hook).get_hookimpls():
        if impl.plugin_name == plugin:
            impl.function(**{name: ({"site": site} | kwargs)[name] for name in impl.argnames})
            return
    raise Conflict(
        f"merge moved rows of plugin {plugin!r}, which is not enabled now; enable it to undo the merge",
        [{"loc": ["body", "merge_id"], "msg": f"plugin {plugin!r} is disabled"}],
    )


def _counts(moved: dict[str, Any]) -> dict[str, int]:
    counts = {name: len(moved[name]) for name in ("contacts", *MOVABLE)}
    counts["plugins"] = len(moved.get("plugins") or {})
    return counts


def _public(entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
    return jsonable({k: record[k] for k in entity.columns if k in record})  # type: ignore[no-any-return]
