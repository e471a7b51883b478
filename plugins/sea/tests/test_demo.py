"""``crm serve --demo`` shows the sea to the rep li.na: two seas with rules and waiting customers, masked for her."""

from __future__ import annotations

from kernel import Actor
from kernel.testing import seed_demo

from .conftest import SYSTEM


def test_the_demo_seeds_two_seas_once_and_li_na_sees_hers_masked(site):
    seed_demo(site)
    seed_demo(site)  # twice: nothing more
    seas = site.records.list(SYSTEM, "seas", sort="name").items
    assert sorted(s["name"] for s in seas) == ["华东公海", "华南公海"]
    east = next(s for s in seas if s["name"] == "华东公海")
    assert east["claim_limit"] == 20 and east["followup_days"] == 15 and east["level_overrides"] == {"A": {"followup_days": 30}}
    li = next(u for u in site.records.list(SYSTEM, "users", limit=100).items if u["email"] == "li.na@example.com")
    rep = Actor(user_id=li["id"], label=li["email"], role=li["role"], team_id=li["team_id"])
    assert [s["name"] for s in site.records.list(rep, "seas").items] == ["华东公海"]
    waiting = site.records.list(rep, "customers", filters={"sea_id": east["id"]}).items
    assert len(waiting) == 4 and all(c["owner_id"] is None and c["phone"] is None for c in waiting)
    assert site.records.list(SYSTEM, "customers", filters={"sea_id": east["id"]}, exact_total=True).total == 4
