"""The sea's deadlines on the moved clock: the follow-up deadline (moved by a follow-up), the deal deadline
(a customer the closed hook answers for stays), level overrides, the reminder, and the cooldown after a return."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kernel import Actor, FrozenClock, Site
from kernel.testing import fire_due_timers, list_notifications
from plugins.pools import deadlines_of

from .conftest import SYSTEM, make_customers, make_sea
from .support import held
from .test_claims import owner_of


def claim(http: Any, actor: Actor, customer: dict[str, Any]) -> Any:
    return http(actor).post(f"/api/v1/customers/{customer['id']}/claim", json={})


def last_event(site: Site, customer: dict[str, Any]) -> dict[str, Any]:
    table = sa.table("kernel_ownership_events", *(sa.column(n) for n in ("id", "entity", "record_id", "from_owner", "action", "reason", "rule")))
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.entity == "customers", table.c.record_id == customer["id"]).order_by(table.c.id.desc())).first()
    return dict(row._mapping)


def test_followup_deadline_with_a_reminder_first_and_a_follow_up_moving_it(
    site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock
) -> None:
    rep = people["rep"]
    sea = make_sea(site, people, followup_days=15, remind_hours=48, cooldown_days=7)
    kept, lost = make_customers(site, sea["id"], 2)
    assert claim(http, rep, kept).status_code == 200 and claim(http, rep, lost).status_code == 200
    clock.advance(days=10)
    followed = site.records.create(rep, "followups", {"customer_id": kept["id"], "method": "call", "content": "确认需求"})
    assert followed["customer_id"] == kept["id"]
    clock.advance(days=3, hours=1)  # 13 days after the claim: within 48 h of the 15-day deadline
    fire_due_timers(site)
    titles = [n["title"] for n in list_notifications(site, rep.user_id)["items"]]
    assert len(titles) == 1 and "即将回收" in titles[0]  # only the customer not followed up
    assert owner_of(site, lost) == rep.user_id
    clock.advance(days=2)  # 15 days and 1 h after the claim
    fire_due_timers(site)
    assert owner_of(site, lost) is None and owner_of(site, kept) == rep.user_id
    event = last_event(site, lost)
    assert (event["action"], event["rule"], event["from_owner"]) == ("return", "followup_days", rep.user_id)
    assert held(site, sea["id"], rep.user_id) == 1
    refused = claim(http, rep, lost)
    assert refused.status_code == 409 and "2026-01-27" in refused.json()["error"]["message"], refused.text  # 7 days' cooldown
    clock.advance(days=12)  # kept: 15 days after its follow-up
    fire_due_timers(site)
    assert owner_of(site, kept) is None


def test_the_deal_deadline_spares_a_customer_the_closed_hook_answers_for(
    site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock
) -> None:
    rep = people["rep"]
    sea = make_sea(site, people, close_days=30, claim_limit=2)
    won, open_ = make_customers(site, sea["id"], 2)
    assert claim(http, rep, won).status_code == 200 and claim(http, rep, open_).status_code == 200
    site.records.update(SYSTEM, "customers", won["id"], {"tags": ["won"]})  # the stand-in's "paid order"
    clock.advance(days=30, seconds=1)
    fire_due_timers(site)
    assert owner_of(site, open_) is None and owner_of(site, won) == rep.user_id
    event = last_event(site, open_)
    assert (event["action"], event["rule"]) == ("return", "close_days")
    assert held(site, sea["id"], rep.user_id) == 0  # the won customer no longer counts against the limit
    clock.advance(days=365)
    fire_due_timers(site)
    assert owner_of(site, won) == rep.user_id


def test_level_overrides_give_a_customers_deadline_by_its_level(
    site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock
) -> None:
    rep = people["rep"]
    sea = make_sea(site, people, followup_days=15, level_overrides={"A": {"followup_days": 30}})
    a_level = make_customers(site, sea["id"], 1, level="A")[0]
    c_level = make_customers(site, sea["id"], 1, level="C")[0]
    assert claim(http, rep, a_level).status_code == 200 and claim(http, rep, c_level).status_code == 200
    with site.engine.connect() as conn:
        found = deadlines_of(site, conn, "customers", [a_level["id"], c_level["id"]])
    assert (found[a_level["id"]]["followup"] - found[c_level["id"]]["followup"]).days == 15
    clock.advance(days=16)
    fire_due_timers(site)
    assert owner_of(site, c_level) is None and owner_of(site, a_level) == rep.user_id
    clock.advance(days=15)
    fire_due_timers(site)
    assert owner_of(site, a_level) is None


def test_the_daily_claim_limit_and_the_next_day(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    rep = people["rep"]
    sea = make_sea(site, people, daily_claim_limit=2)
    customers = make_customers(site, sea["id"], 3)
    assert [claim(http, rep, c).status_code for c in customers] == [200, 200, 409]
    clock.advance(days=1)
    assert claim(http, rep, customers[2]).status_code == 200


def test_a_return_is_written_set_based(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    """No update hook of customers, pools or the sea has work in an owner-only batch of customers: the
    return's audit entries and ownership events are each one INSERT … SELECT, not a row per customer."""
    rep = people["rep"]
    sea = make_sea(site, people, followup_days=5)
    customers = make_customers(site, sea["id"], 3)
    assert all(claim(http, rep, c).status_code == 200 for c in customers)
    clock.advance(days=5, seconds=1)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(site.engine, "before_cursor_execute", count)
    try:
        fire_due_timers(site)
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", count)
    assert [owner_of(site, c) for c in customers] == [None] * 3
    assert any("INSERT INTO kernel_ownership_events" in s and " SELECT " in s for s in seen), seen
    assert any("INSERT INTO kernel_audit" in s and " SELECT " in s for s in seen), seen
    assert [last_event(site, c)["action"] for c in customers] == ["return"] * 3
