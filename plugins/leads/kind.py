"""The leads' pool kind: leads wait in lead pools (``leads.pool_id``) until a rep holds them; a
converted lead is closed (it stops counting against its owner's limit and is never recycled)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from plugins.pools import PoolKind

from .models import LEADS

if TYPE_CHECKING:
    from kernel import Site

#: A lead's contact details a pool may hide from its members until one holds the lead.
MASKABLE = ("phone", "email", "wechat")

KIND = PoolKind(
    entity="leads", pool_entity="lead_pools", pool_field="pool_id", owner_field="owner_id",
    activity_field="last_followed_at", level_field=None, maskable=MASKABLE,
)


def closed_ids(site: Site, conn: sa.Connection, entity: str, ids: list[int]) -> list[int] | None:
    """``pools_closed_ids`` for leads: the converted ones, in one query."""
    if entity != "leads" or not ids:
        return None
    return list(conn.scalars(sa.select(LEADS.c.id).where(LEADS.c.id.in_(ids), LEADS.c.status == "converted")))
