"""Demo records for ``crm demo`` / ``crm serve --demo``: customers with contacts, follow-ups and
tasks, in Chinese and English, owned by the demo reps, so that every page of the plugin has
something to show the moment the demo starts:

* **My day**: each rep has a task due later today, an overdue one and a follow-up planned for today;
* **Churn risks**: 深圳前海智造 was followed up often months ago and hardly lately, so the churn
  job (run at the end) flags it;
* **Follow-up activity per rep**: several reps (and the manager) followed up the same customers
  in the last days;

Level, industry, region and source are codes of the option lists in :mod:`.options` (the pages show
their labels). Customers are matched by name: a customer that exists already is left alone with its activity.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kernel import day_start, local_date, site_zone

from .churn import flag_churn

if TYPE_CHECKING:
    from kernel import Actor, Site

#: ``due`` is when the customer's task falls: ``today`` (later today), ``overdue`` (yesterday) or ``later``.
CUSTOMERS: list[dict[str, Any]] = [
    {"name": "杭州云帆科技有限公司", "kind": "company", "level": "A", "industry": "software", "region": "hangzhou", "source": "exhibition",
     "status": "active", "phone": "0571-8888-1234", "contact": ("陈静", "采购经理"), "followup": ("visit", "上门拜访，确认二期需求"), "due": "today"},
    {"name": "Northwind Traders Ltd.", "kind": "company", "level": "B", "industry": "retail", "region": "shanghai", "source": "website",
     "status": "potential", "email": "sales@northwind.example", "contact": ("Emily Clark", "Head of Purchasing"), "followup": ("email", "Sent the price list"),
     "due": "today"},
    {"name": "深圳前海智造股份有限公司", "kind": "company", "level": "A", "industry": "manufacturing", "region": "shenzhen", "source": "referral",
     "status": "active", "phone": "+86 755 2666 7788", "contact": ("刘洋", "总经理"), "followup": ("meeting", "季度复盘会议"), "due": "overdue"},
    {"name": "Blue Harbor Logistics", "kind": "company", "level": "C", "industry": "logistics", "region": "tianjin", "source": "cold_call",
     "status": "dormant", "phone": "+86 22 5888 0101", "contact": ("James Wong", "Operations Director"), "followup": ("call", "No budget this year"),
     "due": "overdue"},
    {"name": "王芳", "kind": "individual", "level": "B", "industry": "education", "region": "beijing", "source": "wechat",
     "status": "potential", "phone": "13800138000", "contact": ("王芳", "本人"), "followup": ("wechat", "咨询课程报价"), "due": "later"},
]

#: Follow-ups by other people than the owner: (customer, who — "rep", "other_rep" or "manager", days ago, method, content).
TEAM_FOLLOWUPS: list[tuple[str, str, int, str, str]] = [
    ("杭州云帆科技有限公司", "other_rep", 2, "call", "Joint call on the integration project"),
    ("杭州云帆科技有限公司", "manager", 5, "meeting", "与客户高层会谈，确认合作框架"),
    ("Northwind Traders Ltd.", "other_rep", 1, "wechat", "发送产品演示视频"),
    ("Northwind Traders Ltd.", "manager", 6, "call", "Discussed volume discount"),
]

#: 深圳前海智造's history: regular follow-ups 4 to 7 months ago, so that today's quiet reads as a churn risk.
CHURN_HISTORY: list[tuple[str, int, str, str]] = [
    ("rep", 120, "visit", "工厂参观，讨论产线升级"),
    ("manager", 140, "meeting", "年度框架协议谈判"),
    ("other_rep", 160, "call", "Follow-up on the spare-parts order"),
    ("rep", 185, "wechat", "确认交付时间"),
    ("rep", 210, "visit", "首次拜访"),
]
DEMO_KEYS = ("contact", "followup", "due")


def seed_customers(site: Site, actor: Actor) -> int:
    """Add the demo customers that are not there yet (by name), with their activity; returns how many were added."""
    existing = {c["name"] for c in site.records.list(actor, "customers", limit=500).items}
    people = _people(site, actor)
    now = site.clock.now()
    added = 0
    for index, demo in enumerate(CUSTOMERS):
        if demo["name"] in existing:
            continue
        values = {k: v for k, v in demo.items() if k not in DEMO_KEYS}
        owner = people["reps"][index % len(people["reps"])] if people["reps"] else None
        if owner is not None:
            values["owner_id"] = owner
            values["team_id"] = people["teams"].get(owner)
        with site.write() as conn:
            customer = site.records.create(actor, "customers", values, conn=conn)
            name, title = demo["contact"]
            site.records.create(actor, "contacts", {"customer_id": customer["id"], "name": name, "title": title, "is_primary": True}, conn=conn)
            for followup in _followups(demo, index, now, today_at(site, now), owner, people):
                site.records.create(actor, "followups", {"customer_id": customer["id"], **followup}, conn=conn)
            site.records.create(
                actor,
                "tasks",
                {"customer_id": customer["id"], "title": f"跟进 / Follow up: {demo['name']}", "assignee_id": owner,
                 "due_at": _due(demo["due"], index, now, today_at(site, now))},
                conn=conn,
            )
        added += 1
    if added:
        flag_churn(site, now)
    return added


def today_at(site: Site, now: datetime) -> datetime:
    """A moment later today in the site's time zone (halfway between now and midnight): due today, not yet overdue."""
    zone = site_zone(site)
    midnight = day_start(local_date(now, zone) + timedelta(days=1), zone)
    return now + (midnight - now) / 2


def _due(when: str, index: int, now: datetime, later_today: datetime) -> datetime:
    if when == "today":
        return later_today
    if when == "overdue":
        return now - timedelta(days=1, hours=index)
    return now + timedelta(days=index + 1)


def _people(site: Site, actor: Actor) -> dict[str, Any]:
    users = site.records.list(actor, "users", sort="id", limit=50).items
    reps = [u["id"] for u in users if u["role"] == "sales_rep" and u["active"]]
    managers = [u["id"] for u in users if u["role"] == "sales_manager" and u["active"]]
    return {"reps": reps, "manager": managers[0] if managers else None, "teams": {u["id"]: u["team_id"] for u in users}}


def _followups(demo: dict[str, Any], index: int, now: datetime, later_today: datetime, owner: int | None, people: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's follow-ups: the owner's latest (its next one planned today for the first two
    customers), the team's, and for the churn example its older history."""
    method, content = demo["followup"]
    next_at = later_today if index < 2 else now + timedelta(days=index + 1)
    found = [{"method": method, "content": content, "followed_at": now - timedelta(days=3 + index * 5), "next_at": next_at, "owner_id": owner}]
    reps = people["reps"]
    other = next((rep for rep in reps if rep != owner), owner)
    who = {"rep": owner, "other_rep": other, "manager": people["manager"] or owner}
    for name, person, days, way, text in TEAM_FOLLOWUPS:
        if name == demo["name"]:
            found.append({"method": way, "content": text, "followed_at": now - timedelta(days=days), "owner_id": who[person]})
    if demo["name"] == "深圳前海智造股份有限公司":
        for person, days, way, text in CHURN_HISTORY:
            found.append({"method": way, "content": text, "followed_at": now - timedelta(days=days), "owner_id": who[person]})
    return found
