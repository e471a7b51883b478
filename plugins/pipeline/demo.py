"""Demo opportunities for ``crm demo`` / ``crm serve --demo``: 25 deals over the demo customers and their
owners, moved through 企业销售 over the last months (the clock is replayed, so every state event has
its own time and time in stage), a few won, lost and invalid, a few rotting. Seeding twice changes nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from kernel import Actor, FrozenClock

from .stages import ENTITY, ensure_default_pipeline

if TYPE_CHECKING:
    from kernel import Site

COUNT = 25
PRODUCTS = ("ERP 升级 ERP upgrade", "数据平台 Data platform", "年度维保 Annual support", "智能仓储 Smart warehouse", "移动办公 Mobile office")
#: where each deal ends: an open stage, or an outcome (with what that move needs)
ENDINGS = ("needs", "quote", "evaluation", "negotiation", "won", "inquiry", "quote", "lost", "evaluation", "negotiation",
           "needs", "won", "invalid", "quote", "evaluation", "lost", "negotiation", "inquiry", "won", "quote",
           "evaluation", "needs", "lost", "negotiation", "quote")
PATH = ("inquiry", "needs", "quote", "evaluation", "negotiation")
ROTTING = {5, 10, 17}  # left alone for weeks: past their stage's rotting days


def seed_opportunities(site: Site, actor: Actor) -> int:
    """Create the demo deals unless they exist; how many were created."""
    if site.records.list(actor, ENTITY, limit=1).total:
        return 0
    users = {u["id"]: u for u in site.records.list(actor, "users", limit=500).items}
    customers = [c for c in site.records.list(actor, "customers", sort="id", limit=200).items if c.get("owner_id") in users]
    if not customers:
        return 0
    pipeline_id = ensure_default_pipeline(site)
    real, rng = site.clock, random.Random(21)
    now = real.now()
    replay = FrozenClock(now - timedelta(days=120))
    site.clock = replay
    try:
        for index, ending in enumerate(ENDINGS[:COUNT]):
            customer = customers[index % len(customers)]
            owner = users[customer["owner_id"]]
            rep = Actor(user_id=owner["id"], label=owner["email"], role=owner["role"], team_id=owner.get("team_id"))
            replay.set(now - timedelta(days=110 - index * 3, hours=rng.randint(0, 8)))
            amount = f"{rng.randint(5, 180) * 1000}.00"
            deal = site.records.create(rep, ENTITY, {
                "name": f"{customer['name']} · {PRODUCTS[index % len(PRODUCTS)]}", "customer_id": customer["id"], "pipeline_id": pipeline_id,
                "amount": amount, "expected_close": (now + timedelta(days=rng.randint(10, 120))).date().isoformat(),
                "source": ("website", "exhibition", "referral", "cold_call")[index % 4], "next_step": "安排演示 Arrange a demo",
            })
            steps = PATH[: PATH.index(ending) + 1] if ending in PATH else PATH[: 2 + index % 3]
            for stage in steps[1:] + ((ending,) if ending not in PATH else ()):
                replay.advance(days=rng.randint(2, 9), hours=rng.randint(0, 20))
                site.records.act(rep, ENTITY, deal["id"], "move", {"stage": stage, **_needs(stage, rng)})
            if ending in PATH and index not in ROTTING:  # recent activity keeps the others fresh
                replay.set(now - timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 6)))
                site.records.create(rep, "followups", {"entity": ENTITY, "record_id": deal["id"], "method": "call",
                                                       "content": "电话沟通方案细节 Call about the proposal"})
    finally:
        site.clock = real
    return COUNT


def _needs(stage: str, rng: random.Random) -> dict[str, Any]:
    """What moving into ``stage`` asks for in the default pipeline."""
    if stage == "negotiation":
        return {"values": {"expected_close": (date.today() + timedelta(days=rng.randint(7, 60))).isoformat()}}
    if stage == "lost":
        return {"values": {"lost_reason": ("price", "competitor", "no_budget", "no_decision")[rng.randint(0, 3)]}}
    if stage == "invalid":
        return {"feedback": {"reason": "重复线索 Duplicate lead"}}
    if stage == "quote":
        return {"feedback": {"quote_note": "含实施与培训 Implementation and training included"}}
    return {}
