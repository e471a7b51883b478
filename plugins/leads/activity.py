"""A follow-up written on a lead (customers' ``customers_followed_up``): the lead's
``last_followed_at`` moves forward — the pools engine re-arms its recycle deadline — and a lead not
contacted yet (``new``, ``assigned``) becomes ``contacting``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .models import LEADS

if TYPE_CHECKING:
    from kernel import Actor, Site


def followed_up(site: Site, conn: sa.Connection, actor: Actor, record_id: int, at: datetime) -> None:
    row = conn.execute(sa.select(LEADS.c.last_followed_at, LEADS.c.status).where(LEADS.c.id == record_id)).first()
    if row is None:
        return
    changes: dict[str, object] = {}
    if row.last_followed_at is None or row.last_followed_at < at:
        changes["last_followed_at"] = at
    if row.status in ("new", "assigned"):
        changes["status"] = "contacting"
    if changes:
        site.records.update(actor.elevated("follow-up"), "leads", record_id, changes, conn=conn)
