"""Rotting deals: open opportunities that stayed in a stage longer than its rotting days without activity
(a follow-up or a stage move), found in SQL with one condition per stage that rots, and a daily reminder."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Actor, notify_many, user_locales

from .models import OPPORTUNITIES, RULES

if TYPE_CHECKING:
    from kernel import Site

JOB = "pipeline.remind_rotting"


def rotting_condition(conn: sa.Connection, now: datetime) -> sa.ColumnElement[bool]:
    """True for the opportunities rotting at ``now``: open, and quiet for longer than their stage allows."""
    t = OPPORTUNITIES.c
    rules = conn.execute(sa.select(RULES.c.pipeline_id, RULES.c.key, RULES.c.rotting_days).where(RULES.c.rotting_days.is_not(None),
                                                                                                  RULES.c.kind == "open")).all()
    if not rules:
        return sa.false()
    quiet = sa.func.coalesce(t.last_activity_at, t.created_at)
    stages = [sa.and_(t.pipeline_id == r.pipeline_id, t.stage == r.key, quiet < now - timedelta(days=r.rotting_days)) for r in rules]
    return sa.and_(t.outcome == "open", sa.or_(*stages))


def is_rotting(record: dict[str, Any], rotting_days: int | None, now: datetime) -> bool:
    """The same rule for one record in hand (a board's card)."""
    if rotting_days is None or record.get("outcome") != "open":
        return False
    quiet = record.get("last_activity_at") or record.get("created_at")
    return quiet is not None and quiet < now - timedelta(days=rotting_days)


def rotting_ids(site: Site, actor: Actor, *, limit: int = 500) -> list[int]:
    """Ids of the rotting opportunities ``actor`` may see, the quietest first."""
    t = OPPORTUNITIES.c
    with site.engine.connect() as conn:
        condition = rotting_condition(conn, site.clock.now())
        query = (sa.select(t.id).where(condition, site.records.visible(actor, "opportunities"))
                 .order_by(sa.func.coalesce(t.last_activity_at, t.created_at), t.id).limit(limit))
        return [int(i) for i in conn.scalars(query)]


def remind_rotting(site: Site, now: datetime) -> int:
    """The daily job: each owner of rotting opportunities hears once how many they have. Returns how many owners."""
    t = OPPORTUNITIES.c
    with site.write() as conn:
        condition = rotting_condition(conn, now)
        rows = conn.execute(sa.select(t.owner_id, sa.func.count()).where(condition, t.owner_id.is_not(None)).group_by(t.owner_id)).all()
        locales = user_locales(site, (int(owner_id) for owner_id, _ in rows), conn)
        messages = []
        for owner_id, count in rows:
            words = REMINDER.get(locales[int(owner_id)], REMINDER["en"])
            messages.append({"user_id": int(owner_id), "title": words[0] % {"count": count}, "body": words[1], "link": "/p/pipeline/rotting"})
        notify_many(site, conn, messages)
    return len(rows)


#: The daily reminder, in its recipient's language (:func:`kernel.user_locale`): title, body.
REMINDER = {
    "en": ("Rotting opportunities: %(count)s", "Past their stage's rotting days without a follow-up or a move."),
    "zh_CN": ("%(count)s 个商机停滞", "超过阶段停滞天数未跟进或推进。"),
}
