"""Dashboard widgets; every number is a kernel aggregate (one SQL statement over the rows the viewer may see)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kernel import Period, Widget, aggregate_widget, day_start, local_date, site_zone

if TYPE_CHECKING:
    from kernel import Actor, Site

MONTHS = 6
ACTIVITY_DAYS = 30
TOP = 12


def month_starts(today: date, count: int) -> list[date]:
    """The first days of the last ``count`` months up to ``today``'s, oldest first."""
    starts = [today.replace(day=1)]
    for _ in range(count - 1):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    return starts


def new_customers(site: Site, actor: Actor, now: datetime) -> dict[str, Any]:
    """Customers created per month in the site's time zone, the last :data:`MONTHS` months."""
    zone = site_zone(site)
    starts = month_starts(local_date(now, zone), MONTHS)
    filters = {"created_at__gte": day_start(starts[0], zone), "created_at__lte": now}
    found = site.records.aggregate(actor, "customers", group_by=["created_at:month"], filters=filters)
    counts = {group["key"]: group["count"] for group in found.groups}
    return {
        "type": "bar",
        "labels": [start.strftime("%Y-%m") for start in starts],
        "series": [{"name": "customers", "values": [counts.get(start.isoformat(), 0) for start in starts]}],
    }


def followups_per_rep(site: Site, actor: Actor, now: datetime, period: Period | None = None) -> dict[str, Any]:
    """Follow-ups per rep in the dashboard's date range, else the last :data:`ACTIVITY_DAYS` days."""
    if period is not None and period.start is not None:
        recent, heading = period.filters("followed_at"), {"en": "Follow-ups", "zh_CN": "跟进次数"}
    else:
        recent = {"followed_at__gte": now - timedelta(days=ACTIVITY_DAYS), "followed_at__lte": now}
        heading = {"en": f"Follow-ups, last {ACTIVITY_DAYS} days", "zh_CN": f"近 {ACTIVITY_DAYS} 天跟进"}
    groups = site.records.aggregate(actor, "followups", group_by=["owner_id"], filters=recent).groups
    groups.sort(key=lambda g: (-g["count"], g["key"] is None, g["key"] or 0))
    return {
        "columns": [
            {"key": "rep", "label": {"en": "Rep", "zh_CN": "销售"}},
            {"key": "followups", "label": heading},
        ],
        "rows": [{"user_id": group["key"], "rep": group["label"], "followups": group["count"]} for group in groups],
    }


def dashboard_widgets() -> list[Widget]:
    read = "customers.read"
    return [
        Widget("customers.new_by_month", {"en": "New customers by month", "zh_CN": "每月新增客户"}, "chart", new_customers, permission=read),
        *(
            aggregate_widget(f"customers.by_{column}", label, "customers", group_by=(column,), chart="pie", top=TOP, date_field="created_at")
            for column, label in (
                ("level", {"en": "Customers by level", "zh_CN": "客户级别分布"}),
                ("industry", {"en": "Customers by industry", "zh_CN": "客户行业分布"}),
                ("region", {"en": "Customers by region", "zh_CN": "客户地区分布"}),
            )
        ),
        Widget(
            "customers.followups_per_rep",
            {"en": "Follow-up activity per rep", "zh_CN": "销售跟进活跃度"},
            "table",
            followups_per_rep,
            roles=("sales_manager", "executive", "admin"),
            permission="followups.read",
            size="large",
            dated=True,
        ),
        aggregate_widget(
            "customers.churn_risk",
            {"en": "Customers at churn risk", "zh_CN": "流失预警客户"},
            "customers",
            filters={"churn_flag": True},
            size="small",
            unit={"en": {"one": "customer", "other": "customers"}, "zh_CN": "个客户"},
            link="/p/customers/churn",
        ),
    ]
