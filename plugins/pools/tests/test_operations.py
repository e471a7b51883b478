"""Claim, assign, release, transfer through the HTTP API: the pool's checks, refusals and ownership events."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Site
from kernel import FrozenClock, armed_timers, rearm_timers
from plugins.pools import claim
from plugins.pools.models import HOLDINGS

from .conftest import SYSTEM, make_items, make_pool


def _events(site: Site, record_id: int) -> list[dict[str, Any]]:
    table = sa.table("kernel_ownership_events", *(sa.column(n) for n in ("id", "entity", "record_id", "from_owner", "to_owner", "actor_id",
                                                                         "reason", "action", "via_entity", "via_id", "rule")))
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(table).where(table.c.entity == "items", table.c.record_id == record_id).order_by(table.c.id))
        return [dict(r._mapping) for r in rows]


def held(site: Site, pool_id: int, user_id: int) -> int:
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(HOLDINGS.c.held).where(HOLDINGS.c.pool_id == pool_id, HOLDINGS.c.user_id == user_id)) or 0


def test_a_member_claims_an_unowned_record_and_the_event_says_how(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id])
    item = make_items(site, pool["id"], 1)[0]
    answer = http(rep).post(f"/api/v1/items/{item['id']}/claim", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["owner_id"] == rep.user_id and answer.json()["pool_id"] == pool["id"]
    [event] = _events(site, item["id"])
    assert (event["action"], event["from_owner"], event["to_owner"], event["actor_id"]) == ("claim", None, rep.user_id, rep.user_id)
    assert (event["via_entity"], event["via_id"]) == ("item_pools", pool["id"])
    assert held(site, pool["id"], rep.user_id) == 1


#: What one claim costs once the member's counters exist (the outbox takes an advisory lock on PostgreSQL): the
#: record read once with its lock, the pool, the cooldown, the two counters, the hold, the new owner's
#: check, the record's UPDATE with its audit entry, two timers, the ownership event, the answer as the
#: member sees it, the action's audit entry and the outbox.
CLAIM_STATEMENTS = 15


def test_a_claim_reads_its_record_pool_and_hold_once_in_a_fixed_number_of_statements(site: Site, people: dict[str, Actor]) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], claim_limit=5, daily_claim_limit=5, followup_days=7, close_days=30, remind_hours=24,
                     masked_fields=["phone"], level_overrides={"A": {"followup_days": 3}})
    first, second, third = make_items(site, pool["id"], 3, level="A", phone="13800138000")
    site.records.act(rep, "items", first["id"], "claim", {})  # the member's counters exist from now on
    statements: list[str] = []
    sa.event.listen(site.engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    expected = CLAIM_STATEMENTS + (site.engine.dialect.name == "postgresql")

    def spent() -> list[str]:
        found = [s for s in statements if "kernel_versions" not in s]  # the site's registry check, now and then
        statements.clear()
        return found

    answer = site.records.act(rep, "items", second["id"], "claim", {})  # the API's route
    through_api = spent()
    assert answer["owner_id"] == rep.user_id and answer["phone"] == "13800138000"
    assert len(through_api) == expected, "\n".join(through_api)
    read = Counter(m.group(1) for s in through_api if (m := re.match(r"\s*SELECT (\w+)\.", s)))  # by the first column's table
    assert (read["pooltest_items"], read["pooltest_item_pools"], read["pools_holds"]) == (2, 1, 0)  # locked, answered; the pool; no hold read
    assert claim(site, rep, "items", third["id"])["owner_id"] == rep.user_id  # the public function, as the pages call it
    assert len(spent()) == expected
    with site.engine.begin() as conn:
        armed = armed_timers(conn, "items", [second["id"], third["id"]])
        rearm_timers(site, conn, "items", [second["id"], third["id"]])  # from the stored rows
        assert armed_timers(conn, "items", [second["id"], third["id"]]) == armed and set(armed[second["id"]]) == {"pool_return", "pool_remind"}


def test_refusals_are_409s_with_the_reason(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep, rep2, outsider = people["rep"], people["rep2"], people["outsider"]
    pool = make_pool(site, member_ids=[rep.user_id, rep2.user_id], claim_limit=1)
    first, second = make_items(site, pool["id"], 2)
    assert http(rep).post(f"/api/v1/items/{first['id']}/claim", json={}).status_code == 200
    again = http(rep).post(f"/api/v1/items/{first['id']}/claim", json={})
    assert again.status_code == 409 and again.json()["error"]["message"] == "you already hold this record"
    limit = http(rep).post(f"/api/v1/items/{second['id']}/claim", json={})
    assert limit.status_code == 409 and "claim limit reached: 1" in limit.json()["error"]["message"]
    assert http(outsider).post(f"/api/v1/items/{second['id']}/claim", json={}).status_code == 404  # not a member: not seen
    assert held(site, pool["id"], rep.user_id) == 1


def test_the_refusal_reads_in_chinese(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], claim_limit=0)
    item = make_items(site, pool["id"], 1)[0]
    answer = http(rep).post(f"/api/v1/items/{item['id']}/claim", json={}, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == "已达领取上限：已从本池持有 0 条记录"


def test_the_daily_limit_counts_per_day_in_the_sites_time_zone(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], daily_claim_limit=2)
    items = make_items(site, pool["id"], 3)
    client = http(rep)
    assert [client.post(f"/api/v1/items/{i['id']}/claim", json={}).status_code for i in items] == [200, 200, 409]
    clock.advance(days=1)
    assert client.post(f"/api/v1/items/{items[2]['id']}/claim", json={}).status_code == 200


def test_release_needs_a_listed_reason_and_starts_a_cooldown(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], cooldown_days=3)
    item = make_items(site, pool["id"], 1)[0]
    client = http(rep)
    assert client.post(f"/api/v1/items/{item['id']}/claim", json={}).status_code == 200
    assert client.post(f"/api/v1/items/{item['id']}/release", json={}).status_code == 422
    assert client.post(f"/api/v1/items/{item['id']}/release", json={"reason": "bored"}).status_code == 422
    released = client.post(f"/api/v1/items/{item['id']}/release", json={"reason": "联系不上"})
    assert released.status_code == 200, released.text
    assert released.json()["owner_id"] is None and released.json()["pool_id"] == pool["id"]
    assert _events(site, item["id"])[-1]["reason"] == "unreachable"
    assert held(site, pool["id"], rep.user_id) == 0
    cooled = client.post(f"/api/v1/items/{item['id']}/claim", json={})
    assert cooled.status_code == 409 and "2026-01-08" in cooled.json()["error"]["message"]
    clock.advance(days=3, seconds=1)
    assert client.post(f"/api/v1/items/{item['id']}/claim", json={}).status_code == 200


def test_a_pool_admin_assigns_and_an_owner_transfers_to_members_only(site: Site, people: dict[str, Actor], http: Any) -> None:
    manager, rep, rep2, outsider = people["manager"], people["rep"], people["rep2"], people["outsider"]
    pool = make_pool(site, admin_ids=[manager.user_id], member_ids=[rep.user_id, rep2.user_id], claim_limit=5)
    item = make_items(site, pool["id"], 1)[0]
    assert http(rep).post(f"/api/v1/items/{item['id']}/assign", json={"owner_id": rep.user_id}).status_code == 403  # reps may not assign
    other = make_pool(site, admin_ids=[], member_ids=[rep.user_id, manager.user_id])
    elsewhere = make_items(site, other["id"], 1)[0]
    refused = http(manager).post(f"/api/v1/items/{elsewhere['id']}/assign", json={"owner_id": rep.user_id})
    assert refused.status_code == 409 and "admin of this pool" in refused.json()["error"]["message"]
    not_member = http(manager).post(f"/api/v1/items/{item['id']}/assign", json={"owner_id": outsider.user_id})
    assert not_member.status_code == 409
    assigned = http(manager).post(f"/api/v1/items/{item['id']}/assign", json={"owner_id": rep.user_id, "reason": "knows them"})
    assert assigned.status_code == 200 and assigned.json()["owner_id"] == rep.user_id
    moved = http(rep).post(f"/api/v1/items/{item['id']}/transfer", json={"owner_id": rep2.user_id})
    assert moved.status_code == 200, moved.text
    assert [e["action"] for e in _events(site, item["id"])] == ["assign", "transfer"]
    assert held(site, pool["id"], rep.user_id) == 0 and held(site, pool["id"], rep2.user_id) == 1


def test_bulk_assign_is_all_or_none(site: Site, people: dict[str, Actor], http: Any) -> None:
    manager, rep = people["manager"], people["rep"]
    pool = make_pool(site, admin_ids=[manager.user_id], member_ids=[rep.user_id], claim_limit=2)
    items = make_items(site, pool["id"], 3)
    answer = http(manager).post("/api/v1/plugins/pools/assign", json={"entity": "items", "ids": [i["id"] for i in items], "owner_id": rep.user_id})
    assert answer.status_code == 409 and answer.json()["error"]["details"][0]["loc"][:2] == ["ids", 2]
    assert held(site, pool["id"], rep.user_id) == 0
    ok = http(manager).post("/api/v1/plugins/pools/assign", json={"entity": "items", "ids": [i["id"] for i in items[:2]], "owner_id": rep.user_id})
    assert ok.status_code == 200 and [i["owner_id"] for i in ok.json()["items"]] == [rep.user_id] * 2


def test_members_see_the_pools_unowned_records_others_do_not(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep, rep2, outsider = people["rep"], people["rep2"], people["outsider"]
    pool = make_pool(site, member_team_ids=[rep.team_id])
    items = make_items(site, pool["id"], 2)
    assert http(rep2).get("/api/v1/items").json()["total"] == 2
    assert http(outsider).get("/api/v1/items").json()["total"] == 0
    http(rep).post(f"/api/v1/items/{items[0]['id']}/claim", json={})
    assert [i["id"] for i in http(rep2).get("/api/v1/items").json()["items"]] == [items[1]["id"]]
    _ = SYSTEM
