"""Churn signals (流失预警): active customers whose activity fell below their own history.

Activity is follow-ups plus, through ``customers_purchase_summary``, purchases.
A customer's usual activity per window is its activity before the window
scaled to the window's length; it is flagged when the window holds less than
``churn_ratio`` of that, and unflagged when it recovers (or stops being active).
A customer with less than one window of history, or fewer than
``churn_min_history`` activities before the window, is not judged.
"""

from __future__ import annotations

import logging

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Actor

from .models import Customer, Followup
from .settings import CustomerSettings, settings_of

if TYPE_CHECKING:
    from kernel import Site

CUSTOMERS = Customer.__table__
FOLLOWUPS = Followup.__table__
log = logging.getLogger(__name__)
BATCH = 500
REASON = {
    "en": "follow-ups and purchases dropped from {usual:.1f}/month to {recent:.1f}/month (last {days} days: {count})",
    "zh_CN": "跟进和购买从每月 {usual:.1f} 次降至每月 {recent:.1f} 次（近 {days} 天共 {count} 次）",
}
MONTH_DAYS = 30


def flag_churn(site: Site, now: datetime) -> dict[str, int]:
    """Flag and unflag customers as of ``now``; returns how many changed each way."""
    config = settings_of(site)
    window_start = now - timedelta(days=config.churn_window_days)
    candidates = sa.select(CUSTOMERS.c.id).where(sa.or_(CUSTOMERS.c.status == "active", CUSTOMERS.c.churn_flag.is_(True)))
    counts = {"flagged": 0, "cleared": 0, "failed": 0}
    last_id = 0
    while True:
        with site.engine.connect() as conn:
            ids = list(conn.scalars(candidates.where(CUSTOMERS.c.id > last_id).order_by(CUSTOMERS.c.id).limit(BATCH)))
            if not ids:
                return counts
            activity = _activity(site, conn, ids, window_start, now)
        for customer_id, values in activity.items():
            try:
                changed = _judge(site, config, now, window_start, customer_id, values)
            except Exception:  # a veto or a clash on one customer must not stop the others
                log.exception("churn check of customer %s failed", customer_id)
                counts["failed"] += 1
                continue
            if changed:
                counts[changed] += 1
        last_id = ids[-1]


def _activity(site: Site, conn: sa.Connection, ids: list[int], window_start: datetime, now: datetime) -> dict[int, dict[str, Any]]:
    """Per customer: status, flag, history start, activities before and inside the window."""
    recent = sa.func.sum(sa.case((FOLLOWUPS.c.followed_at >= window_start, 1), else_=0))
    earlier = sa.func.sum(sa.case((FOLLOWUPS.c.followed_at < window_start, 1), else_=0))
    counted = (
        sa.select(FOLLOWUPS.c.customer_id, recent.label("recent"), earlier.label("earlier"), sa.func.min(FOLLOWUPS.c.followed_at).label("first"))
        .where(FOLLOWUPS.c.customer_id.in_(ids), FOLLOWUPS.c.followed_at < now)
        .group_by(FOLLOWUPS.c.customer_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(
            CUSTOMERS.c.id, CUSTOMERS.c.status, CUSTOMERS.c.churn_flag, CUSTOMERS.c.created_at,
            counted.c.recent, counted.c.earlier, counted.c.first,
        )
        .outerjoin(counted, counted.c.customer_id == CUSTOMERS.c.id)
        .where(CUSTOMERS.c.id.in_(ids))
    )
    found = {
        row.id: {
            "status": row.status,
            "flagged": row.churn_flag,
            "since": min(filter(None, (row.created_at, row.first))),
            "recent": int(row.recent or 0),
            "earlier": int(row.earlier or 0),
        }
        for row in rows
    }
    hook = site.view.pm.hook.customers_purchase_summary
    for key, since, until in (("recent", window_start, now), ("earlier", None, window_start)):
        for summary in hook(site=site, conn=conn, customer_ids=ids, since=since, until=until):
            for customer_id, purchases in (summary or {}).items():
                if customer_id in found:
                    found[customer_id][key] += int(purchases.get("count") or 0)
                    first = purchases.get("first_at")
                    if first is not None and first < found[customer_id]["since"]:
                        found[customer_id]["since"] = first
    return found


def _judge(site: Site, config: CustomerSettings, now: datetime, window_start: datetime, customer_id: int, values: dict[str, Any]) -> str | None:
    history_days = (window_start - values["since"]).total_seconds() / 86400
    at_risk, usual = False, 0.0
    if values["status"] == "active" and history_days >= config.churn_window_days and values["earlier"] >= config.churn_min_history:
        usual = values["earlier"] * config.churn_window_days / history_days
        at_risk = values["recent"] < config.churn_ratio * usual
    if at_risk == values["flagged"]:
        return None
    actor = Actor.system(job="customers.flag_churn")
    if at_risk:
        template = REASON.get(site.settings.default_locale, REASON["en"])
        per_month = MONTH_DAYS / config.churn_window_days
        reason = template.format(usual=usual * per_month, recent=values["recent"] * per_month, days=config.churn_window_days, count=values["recent"])
        site.records.update(actor, "customers", customer_id, {"churn_flag": True, "churn_reason": reason, "churn_flagged_at": now})
        return "flagged"
    site.records.update(actor, "customers", customer_id, {"churn_flag": False, "churn_reason": None, "churn_flagged_at": None})
    return "cleared"
