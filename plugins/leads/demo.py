"""Demo lead pools and leads for ``crm demo`` / ``crm serve --demo``: 上海区线索池 (the default pool,
round-robin over the East China reps) and 教育行业线索池 (education leads routed there by industry,
waiting to be claimed), about thirty leads in every state, some followed up, one converted.
Pools and leads are matched by name: seeding twice changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kernel import Actor

if TYPE_CHECKING:
    from kernel import Site

MANAGER, REPS = "zhang.wei@example.com", ("li.na@example.com", "emily.carter@example.com")
POOLS: list[dict[str, Any]] = [
    {"name": "上海区线索池", "is_default": True, "assignment": "round_robin", "claim_limit": 40, "daily_claim_limit": 10,
     "followup_days": 7, "close_days": 30, "remind_hours": 24, "cooldown_days": 3, "masked_fields": []},
    {"name": "教育行业线索池", "routing_rules": [{"field": "industry", "value": "education"}], "assignment": "manual",
     "claim_limit": 20, "daily_claim_limit": 5, "followup_days": 5, "close_days": 21, "remind_hours": 24, "cooldown_days": 7,
     "masked_fields": ["phone", "email", "wechat"]},
]
#: name, company, source, region, industry, what happens to it (None: stays as placed)
LEADS: list[tuple[str, str, str, str, str, str | None]] = [
    ("王磊", "上海云帆科技有限公司", "web_form", "shanghai", "software", "contacting"),
    ("赵敏", "浦东新区精密制造厂", "fair", "shanghai", "manufacturing", "qualified"),
    ("孙强", "上海恒通物流有限公司", "referral", "shanghai", "logistics", "contacting"),
    ("周婷", "静安零售连锁", "campaign", "shanghai", "retail", None),
    ("吴昊", "上海星河传媒", "web_form", "shanghai", "media", "invalid"),
    ("郑洁", "徐汇医疗器械有限公司", "import", "shanghai", "healthcare", "contacting"),
    ("Oliver Brown", "Bund Capital Partners", "web_form", "shanghai", "finance", "qualified"),
    ("Sophie Martin", "Lujiazui Trading Co.", "api", "shanghai", "wholesale", None),
    ("陈晨", "上海绿能科技", "fair", "shanghai", "energy", "converted"),
    ("刘洋", "闵行建设集团", "manual", "shanghai", "construction", None),
    ("黄蕾", "上海智联互联网", "web_form", "shanghai", "internet", "contacting"),
    ("何军", "嘉定汽车配件厂", "referral", "shanghai", "manufacturing", None),
    ("林芳", "长宁贸易公司", "campaign", "shanghai", "wholesale", "invalid"),
    ("James Lee", "Pudong Software Labs", "web_form", "shanghai", "software", "contacting"),
    ("马超", "宝山钢铁贸易", "import", "shanghai", "wholesale", None),
    ("高雅", "杨浦创新孵化器", "web_form", "shanghai", "internet", "qualified"),
    ("罗斌", "奉贤食品有限公司", "fair", "shanghai", "retail", None),
    ("梁静", "普陀物流中心", "referral", "shanghai", "logistics", "contacting"),
    ("宋佳", "上海华信金融服务", "campaign", "shanghai", "finance", None),
    ("Anna Schmidt", "Hongqiao Med Devices", "api", "shanghai", "healthcare", None),
    ("谢婉", "复旦附属实验学校", "web_form", "shanghai", "education", None),
    ("唐杰", "华东师范培训中心", "fair", "shanghai", "education", None),
    ("许诺", "新东方浦东校区", "campaign", "shanghai", "education", None),
    ("韩梅", "杭州英才教育集团", "referral", "zhejiang", "education", None),
    ("冯涛", "南京启明职业学院", "web_form", "jiangsu", "education", None),
    ("曹宇", "苏州外国语学校", "import", "jiangsu", "education", None),
    ("David Chen", "Shanghai International School", "web_form", "shanghai", "education", None),
    ("邓丽", "上海少儿编程中心", "campaign", "shanghai", "education", None),
    ("彭博", "宁波职业技术学院", "fair", "zhejiang", "education", None),
    ("曾静", "上海开放大学", "web_form", "shanghai", "education", None),
]
NOTES = {"contacting": "电话沟通，对方有兴趣，约下周演示", "qualified": "预算已确认，决策人已接触", "invalid": "no_need"}


def _actors(site: Site, actor: Actor) -> dict[str, Actor]:
    users = site.records.list(actor, "users", limit=500).items
    return {u["email"]: Actor(user_id=u["id"], label=u["email"], role=u["role"], team_id=u.get("team_id")) for u in users}


def seed_leads(site: Site, actor: Actor) -> None:
    people = _actors(site, actor)
    reps = [people[e] for e in REPS if e in people]
    admins = [people[MANAGER].user_id] if MANAGER in people else []
    pools = {p["name"]: p for p in site.records.list(actor, "lead_pools", limit=200).items}
    for spec in POOLS:
        if spec["name"] not in pools:
            pools[spec["name"]] = site.records.create(actor, "lead_pools", {
                **spec, "admin_ids": admins, "member_ids": [r.user_id for r in reps]})
    names = [row[0] for row in LEADS]
    existing = {lead["name"] for lead in site.records.list(actor, "leads", filters={"name__in": names}, limit=100).items}
    now = site.clock.now()
    for index, (name, company, source, region, industry, fate) in enumerate(LEADS):
        if name in existing:
            continue
        digits = f"{index + 1:04d}"
        lead = site.records.create(actor, "leads", {
            "name": name, "company": company, "source": source, "region": region, "industry": industry,
            "phone": f"+86 139 1600 {digits}", "email": f"lead{digits}@demo.example", "owner_id": None,
        })
        lead = site.records.get(actor, "leads", lead["id"])
        holder = next((r for r in reps if r.user_id == lead["owner_id"]), None)
        if fate is None or holder is None:
            continue
        site.records.create(holder, "followups", {"entity": "leads", "record_id": lead["id"], "method": "call",
                                                  "content": NOTES["contacting"], "followed_at": now - timedelta(days=1 + index % 4)})
        if fate == "invalid":
            site.records.update(holder, "leads", lead["id"], {"status": "invalid", "invalid_reason": NOTES["invalid"]})
        elif fate in ("qualified", "converted"):
            site.records.update(holder, "leads", lead["id"], {"status": "qualified", "notes": NOTES["qualified"]})
        if fate == "converted":
            site.records.act(holder, "leads", lead["id"], "convert", {"create_opportunity": False})
