"""Dashboard widgets; every number is counted in SQL over the rows the viewer may see."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Widget

from .models import Customer, Followup

if TYPE_CHECKING:
    from kernel import Actor, Site

CUSTOMERS = Customer.__table__
FOLLOWUPS = Followup.__table__
MONTHS = 6
ACTIVITY_DAYS = 30
TOP = 12
NONE_LABEL = {"en": "(none)", "zh_CN": "（未填）"}


def month_starts(now: datetime, count: int) -> list[datetime]:
    """The first instants of the last ``count`` months (UTC), oldest first, plus the next month's."""
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = [first]
    for _ in range(count - 1):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    starts.append((first + timedelta(days=32)).replace(day=1))
    return starts


def new_customers(site: Site, actor: Actor, now: datetime) -> dict[str, Any]:
    starts = month_starts(now, MONTHS)
    created = CUSTOMERS.c.created_at
    sums = [sa.func.sum(sa.case((sa.and_(created >= a, created < b), 1), else_=0)) for a, b in zip(starts, starts[1:])]
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(*sums).where(created >= starts[0], site.records.visible(actor, "customers"))).one()
    return {
        "type": "bar",
        "labels": [start.strftime("%Y-%m") for start in starts[:-1]],
        "series": [{"name": "customers", "values": [int(v or 0) for v in row]}],
    }


def customers_by(column: str) -> Any:
    def data(site: Site, actor: Actor, now: datetime) -> dict[str, Any]:
        key = CUSTOMERS.c[column]
        count = sa.func.count().label("n")
        query = (
            sa.select(key, count)
            .where(site.records.visible(actor, "customers"))
            .group_by(key)
            .order_by(count.desc(), key)
            .limit(TOP)
        )
        with site.engine.connect() as conn:
            rows = conn.execute(query).all()
        locale = site.settings.default_locale
        return {
            "type": "pie",
            "labels": [row[0] if row[0] is not None else NONE_LABEL.get(locale, NONE_LABEL["en"]) for row in rows],
            "series": [{"name": "customers", "values": [row.n for row in rows]}],
        }

    return data


def followups_per_rep(site: Site, actor: Actor, now: datetime) -> dict[str, Any]:
    users = site.view.entity("users")
    assert users is not None  # the kernel's own entity
    count = sa.func.count(FOLLOWUPS.c.id).label("n")
    query = (
        sa.select(FOLLOWUPS.c.owner_id, users.table.c.name, users.table.c.email, count)
        .outerjoin(users.table, users.table.c.id == FOLLOWUPS.c.owner_id)
        .where(FOLLOWUPS.c.followed_at >= now - timedelta(days=ACTIVITY_DAYS), FOLLOWUPS.c.followed_at <= now)
        .where(site.records.visible(actor, "followups"))
        .group_by(FOLLOWUPS.c.owner_id, users.table.c.name, users.table.c.email)
        .order_by(count.desc(), FOLLOWUPS.c.owner_id)
    )
    with site.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        "columns": [
            {"key": "rep", "label": {"en": "Rep", "zh_CN": "销售"}},
            {"key": "followups", "label": {"en": f"Follow-ups, last {ACTIVITY_DAYS} days", "zh_CN": f"近 {ACTIVITY_DAYS} 天跟进"}},
        ],
        "rows": [{"user_id": row.owner_id, "rep": row.name or row.email or "-", "followups": row.n} for row in rows],
    }


def churn_risk(site: Site, actor: Actor, now: datetime) -> dict[str, Any]:
    with site.engine.connect() as conn:
        flagged = conn.scalar(
            sa.select(sa.func.count()).select_from(CUSTOMERS).where(CUSTOMERS.c.churn_flag.is_(True), site.records.visible(actor, "customers"))
        )
    return {"value": int(flagged or 0), "unit": {"en": "customers", "zh_CN": "个客户"}, "link": "/p/customers/churn"}


def dashboard_widgets() -> list[Widget]:
    read = "customers.read"
    return [
        Widget("customers.new_by_month", {"en": "New customers by month", "zh_CN": "每月新增客户"}, "chart", new_customers, permission=read),
        Widget("customers.by_level", {"en": "Customers by level", "zh_CN": "客户级别分布"}, "chart", customers_by("level"), permission=read),
        Widget("customers.by_industry", {"en": "Customers by industry", "zh_CN": "客户行业分布"}, "chart", customers_by("industry"), permission=read),
        Widget("customers.by_region", {"en": "Customers by region", "zh_CN": "客户地区分布"}, "chart", customers_by("region"), permission=read),
        Widget(
            "customers.followups_per_rep",
            {"en": "Follow-up activity per rep", "zh_CN": "销售跟进活跃度"},
            "table",
            followups_per_rep,
            roles=("sales_manager", "executive", "admin"),
            permission="followups.read",
            size="large",
        ),
        Widget(
            "customers.churn_risk",
            {"en": "Customers at churn risk", "zh_CN": "流失预警客户"},
            "number",
            churn_risk,
            permission="customers.read",
            size="small",
        ),
    ]
