"""Dashboard widgets: claims and returns this week, and held records about to go back to their pool.

Each is one SQL statement per pool kind over the rows the viewer may see (``site.records.visible``):
the kernel's ownership events for the week, the kernel's timers for the deadlines.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Widget, day_start, local_date, site_zone

from .access import DUE_SOON, TIMERS, pool_kinds, title_column
from .models import HOLDS
from .reports import EVENTS, RETURNED, TAKEN
from .returns import RETURN

if TYPE_CHECKING:
    from kernel import Actor, Site

SHOWN = 10
WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "zh_CN": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}


def week_days(site: Site, now: datetime) -> list[datetime]:
    """The starts of this week's days (Monday first) and of next Monday, in the site's time zone."""
    zone = site_zone(site)
    today = local_date(now, zone)
    monday = today - timedelta(days=today.weekday())
    return [day_start(monday + timedelta(days=i), zone) for i in range(8)]


def claims_and_returns(site: Site, actor: Actor, now: datetime, locale: str | None = None) -> dict[str, Any]:
    """Claims (and assignments from a pool) and returns (and releases) per day of this week."""
    days = week_days(site, now)
    claims, returns = [0] * 7, [0] * 7
    for kind in pool_kinds(site, actor):
        table = site.view.entity(kind.entity).table
        columns = []
        for i in range(7):
            inside = sa.and_(EVENTS.c.at >= days[i], EVENTS.c.at < days[i + 1])
            columns.append(sa.func.count().filter(inside, EVENTS.c.action.in_(TAKEN), EVENTS.c.to_owner.is_not(None)).label(f"c{i}"))
            columns.append(sa.func.count().filter(inside, EVENTS.c.action.in_(RETURNED)).label(f"r{i}"))
        query = sa.select(*columns).where(
            EVENTS.c.entity == kind.entity, EVENTS.c.via_entity == kind.pool_entity, EVENTS.c.at >= days[0], EVENTS.c.at < days[7],
            EVENTS.c.record_id.in_(sa.select(table.c.id).where(site.records.visible(actor, kind.entity))),
        )
        with site.engine.connect() as conn:
            row = conn.execute(query).one()
        for i in range(7):
            claims[i] += row._mapping[f"c{i}"]
            returns[i] += row._mapping[f"r{i}"]
    names = WEEKDAYS.get(locale or "en", WEEKDAYS["en"])
    return {
        "type": "bar",
        "labels": list(names),
        "series": [
            {"name": {"en": "Claims", "zh_CN": "领取"}, "values": claims},
            {"name": {"en": "Returns", "zh_CN": "退回"}, "values": returns},
        ],
    }


def about_to_return(site: Site, actor: Actor, now: datetime, locale: str | None = None) -> dict[str, Any]:
    """Held records whose return deadline falls within :data:`DUE_SOON`, soonest first."""
    found: list[dict[str, Any]] = []
    users = site.view.entity("users").table
    for kind in pool_kinds(site, actor):
        entity = site.view.entity(kind.entity)
        table = entity.table
        owner = table.c[kind.owner(entity)]
        due = sa.func.min(TIMERS.c.due_at).label("due_at")
        title = title_column(entity)
        query = (
            sa.select(table.c.id, title.label("title"), sa.func.coalesce(users.c.name, users.c.email).label("owner"), due)
            .select_from(
                table.join(TIMERS, sa.and_(TIMERS.c.entity == kind.entity, TIMERS.c.name == RETURN, TIMERS.c.record_id == table.c.id))
                .join(HOLDS, sa.and_(HOLDS.c.entity == kind.entity, HOLDS.c.record_id == table.c.id, HOLDS.c.user_id == owner,
                                    HOLDS.c.counted.is_(True)))
                .outerjoin(users, users.c.id == owner)
            )
            .where(owner.is_not(None), TIMERS.c.due_at <= now + DUE_SOON, site.records.visible(actor, kind.entity))
            .group_by(table.c.id, title, users.c.name, users.c.email)
            .order_by(due, table.c.id)
            .limit(SHOWN)
        )
        with site.engine.connect() as conn:
            for row in conn.execute(query):
                found.append({"entity": kind.entity, **row._mapping})
    found.sort(key=lambda r: (r["due_at"], r["id"]))
    zone = site_zone(site)
    zh = locale == "zh_CN"
    rows = []
    for item in found[:SHOWN]:
        hours = max(0, int((item["due_at"] - now).total_seconds() // 3600))
        left = (f"{hours // 24} 天 {hours % 24} 小时" if zh else f"{hours // 24} d {hours % 24} h")
        rows.append({
            "record": str(item["title"]),
            "owner": item["owner"] or "",
            "due": item["due_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "left": left,
            "link": f"/r/{item['entity']}/{item['id']}",
        })
    return {
        "columns": [
            {"key": "record", "label": {"en": "Record", "zh_CN": "记录"}},
            {"key": "owner", "label": {"en": "Owner", "zh_CN": "负责人"}},
            {"key": "due", "label": {"en": "Returns at", "zh_CN": "退回时间"}},
            {"key": "left", "label": {"en": "Left", "zh_CN": "剩余"}},
        ],
        "rows": rows,
    }


def dashboard_widgets() -> list[Widget]:
    return [
        Widget("pools.claims_returns_week", {"en": "Claims and returns this week", "zh_CN": "本周领取与退回"}, "chart", claims_and_returns,
               roles=("sales_rep", "sales_manager", "executive", "admin"), localized=True),
        Widget("pools.about_to_return", {"en": "Records about to return to their pool", "zh_CN": "即将退回池中的记录"}, "table", about_to_return,
               roles=("sales_rep", "sales_manager", "admin"), size="large", localized=True),
    ]
