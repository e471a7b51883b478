"""Demo records for ``crm demo`` / ``crm serve --demo``: a few customers with contacts,
follow-ups and tasks, in Chinese and English, owned by the demo users. Level, industry, region and
source are codes of the option lists in :mod:`.options` (the pages show their labels)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel import Actor, Site

CUSTOMERS: list[dict[str, Any]] = [
    {"name": "杭州云帆科技有限公司", "kind": "company", "level": "A", "industry": "software", "region": "hangzhou", "source": "exhibition",
     "status": "active", "phone": "0571-8888-1234", "contact": ("陈静", "采购经理"), "followup": ("visit", "上门拜访，确认二期需求")},
    {"name": "Northwind Traders Ltd.", "kind": "company", "level": "B", "industry": "retail", "region": "shanghai", "source": "website",
     "status": "potential", "email": "sales@northwind.example", "contact": ("Emily Clark", "Head of Purchasing"), "followup": ("email", "Sent the price list")},
    {"name": "深圳前海智造股份有限公司", "kind": "company", "level": "A", "industry": "manufacturing", "region": "shenzhen", "source": "referral",
     "status": "active", "phone": "+86 755 2666 7788", "contact": ("刘洋", "总经理"), "followup": ("meeting", "季度复盘会议")},
    {"name": "Blue Harbor Logistics", "kind": "company", "level": "C", "industry": "logistics", "region": "tianjin", "source": "cold_call",
     "status": "dormant", "phone": "+86 22 5888 0101", "contact": ("James Wong", "Operations Director"), "followup": ("call", "No budget this year")},
    {"name": "王芳", "kind": "individual", "level": "B", "industry": "education", "region": "beijing", "source": "wechat",
     "status": "potential", "phone": "13800138000", "contact": ("王芳", "本人"), "followup": ("wechat", "咨询课程报价")},
]


def seed_customers(site: Site, actor: Actor) -> int:
    """Add the demo customers that are not there yet (by name); returns how many were added."""
    existing = {c["name"] for c in site.records.list(actor, "customers", limit=500).items}
    owners = [u["id"] for u in site.records.list(actor, "users", sort="id", limit=50).items if u["role"] == "sales_rep"]
    now = site.clock.now()
    added = 0
    for index, demo in enumerate(CUSTOMERS):
        if demo["name"] in existing:
            continue
        values = {k: v for k, v in demo.items() if k not in ("contact", "followup")}
        if owners:
            values["owner_id"] = owners[index % len(owners)]
        with site.write() as conn:
            customer = site.records.create(actor, "customers", values, conn=conn)
            name, title = demo["contact"]
            site.records.create(actor, "contacts", {"customer_id": customer["id"], "name": name, "title": title, "is_primary": True}, conn=conn)
            method, content = demo["followup"]
            followed = now - timedelta(days=3 + index * 5)
            site.records.create(
                actor,
                "followups",
                {"customer_id": customer["id"], "method": method, "content": content, "followed_at": followed, "next_at": now + timedelta(days=index + 1)},
                conn=conn,
            )
            site.records.create(
                actor,
                "tasks",
                {"customer_id": customer["id"], "title": f"跟进 / Follow up: {demo['name']}", "assignee_id": values.get("owner_id"), "due_at": now + timedelta(days=index + 1)},
                conn=conn,
            )
        added += 1
    return added
