"""Demo seas for ``crm demo`` / ``crm serve --demo``: 华东公海 (the East China team's, where the rep
li.na claims) and 华南公海, with rules, level overrides and unowned customers waiting, phones masked.
Seas and customers are matched by name: seeding twice changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel import Actor, Site

MASKED = ["phone", "phones", "email", "emails"]
SEAS: list[dict[str, Any]] = [
    {"name": "华东公海", "admins": ["zhang.wei@example.com"], "members": ["li.na@example.com", "emily.carter@example.com"],
     "rules": {"claim_limit": 20, "daily_claim_limit": 5, "followup_days": 15, "close_days": 90, "remind_hours": 48, "cooldown_days": 7,
               "level_overrides": {"A": {"followup_days": 30}}},
     "customers": [
         {"name": "上海浦江贸易有限公司", "kind": "company", "level": "B", "region": "shanghai", "phone": "+86 21 6888 0001", "email": "info@pujiang.example"},
         {"name": "苏州园林设计院", "kind": "company", "level": "A", "region": "suzhou", "phone": "+86 512 6777 0002"},
         {"name": "Ningbo Harbour Supplies", "kind": "company", "level": "C", "region": "ningbo", "email": "hello@nbharbour.example"},
         {"name": "南京紫金软件有限公司", "kind": "company", "level": "B", "region": "nanjing", "phone": "+86 25 8444 0003"},
     ]},
    {"name": "华南公海", "admins": ["zhang.wei@example.com"], "members": ["emily.carter@example.com"],
     "rules": {"claim_limit": 10, "followup_days": 10, "close_days": 60, "remind_hours": 24, "cooldown_days": 3},
     "customers": [
         {"name": "广州珠江电子有限公司", "kind": "company", "level": "B", "region": "guangzhou", "phone": "+86 20 8333 0004"},
         {"name": "Shenzhen Bay Robotics", "kind": "company", "level": "A", "region": "shenzhen", "email": "bd@szbay.example"},
     ]},
]


def seed_seas(site: Site, actor: Actor) -> None:
    users = {u["email"]: u["id"] for u in site.records.list(actor, "users", limit=500).items}
    seas = {s["name"]: s for s in site.records.list(actor, "seas", limit=500).items}
    for spec in SEAS:
        sea = seas.get(spec["name"])
        if sea is None:
            sea = site.records.create(actor, "seas", {
                "name": spec["name"], "admin_ids": [users[e] for e in spec["admins"] if e in users],
                "member_ids": [users[e] for e in spec["members"] if e in users], "masked_fields": MASKED, **spec["rules"],
            })
        names = [c["name"] for c in spec["customers"]]
        existing = {c["name"] for c in site.records.list(actor, "customers", filters={"name__in": names}, limit=100).items}
        for customer in spec["customers"]:
            if customer["name"] not in existing:
                site.records.create(actor, "customers", {**customer, "status": "potential", "owner_id": None, "sea_id": sea["id"]})
