"""Purchase history and lifetime value, from whichever plugins answer ``customers_purchase_summary``."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel import Actor, Site


def purchase_summary(site: Site, actor: Actor, customer_id: int) -> dict[str, Any]:
    """Lifetime purchases of a customer ``actor`` may see: count, value per currency, first and last."""
    with site.engine.connect() as conn:
        site.records.get(actor, "customers", customer_id, conn=conn)
        answers = site.view.pm.hook.customers_purchase_summary(site=site, conn=conn, customer_ids=[customer_id], since=None, until=None)
    count, value, first, last = 0, {}, None, None
    for answer in answers:
        mine = (answer or {}).get(customer_id)
        if not mine:
            continue
        count += int(mine.get("count") or 0)
        currency = mine.get("currency") or "CNY"
        value[currency] = value.get(currency, Decimal(0)) + Decimal(str(mine.get("amount") or 0))
        first = min(filter(None, (first, mine.get("first_at"))), default=None)
        last = max(filter(None, (last, mine.get("last_at"))), default=None)
    sources = len([answer for answer in answers if answer])
    return {"customer_id": customer_id, "count": count, "lifetime_value": value, "first_at": first, "last_at": last, "sources": sources}
