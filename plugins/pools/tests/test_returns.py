"""Returns and reminders on the moved clock: follow-up and close deadlines, level overrides, closed records,
cooldowns after a return, and the strategies placing records that enter a pool."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kernel import Actor, Site
from kernel import FrozenClock, user_locale
from kernel.testing import fire_due_timers, list_notifications
from plugins.pools import deadlines_of, mark_closed, reconcile

from .conftest import SYSTEM, make_items, make_pool
from .test_operations import _events, held


def claim(http: Any, actor: Actor, item: dict[str, Any]) -> int:
    return http(actor).post(f"/api/v1/items/{item['id']}/claim", json={}).status_code


def owner_of(site: Site, item: dict[str, Any]) -> int | None:
    return site.records.get(SYSTEM, "items", item["id"])["owner_id"]


def test_a_record_not_followed_up_goes_back_after_n_days_with_a_reminder_first(
    site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock
) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], followup_days=3, remind_hours=24, cooldown_days=2)
    item = make_items(site, pool["id"], 1)[0]
    assert claim(http, rep, item) == 200
    clock.advance(days=1, hours=23)
    fire_due_timers(site)
    assert owner_of(site, item) == rep.user_id
    assert list_notifications(site, rep.user_id)["items"] == []
    clock.advance(hours=2)  # 2 days 1 h after the claim: within 24 h of the deadline
    fire_due_timers(site)
    [reminder] = list_notifications(site, rep.user_id)["items"]
    assert "即将回收" in reminder["title"]  # the site's default locale and owner_of(site, item) == rep.user_id
    clock.advance(days=1)
    fire_due_timers(site)
    assert owner_of(site, item) is None
    last = _events(site, item["id"])[-1]
    assert (last["action"], last["rule"], last["reason"], last["from_owner"]) == ("return", "followup_days", "not followed up in time", rep.user_id)
    assert held(site, pool["id"], rep.user_id) == 0
    assert any("已回收" in n["title"] for n in list_notifications(site, rep.user_id)["items"])
    refused = http(rep).post(f"/api/v1/items/{item['id']}/claim", json={})
    assert refused.status_code == 409 and "cooldown" in refused.json()["error"]["message"]
    fire_due_timers(site)  # idempotent: nothing more happens
    assert len(_events(site, item["id"])) == 2


def test_reminders_and_returns_are_written_in_each_owners_language(
    site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock
) -> None:
    rep, rep2 = people["rep"], people["rep2"]
    chose = http(rep2).request("PUT", "/api/v1/auth/preferences", json={"locale": "en"})  # the site reads Chinese; rep2 chose English
    assert chose.status_code == 200 and user_locale(site, rep2.user_id) == "en" and user_locale(site, rep.user_id) == "zh_CN"
    pool = make_pool(site, member_ids=[rep.user_id, rep2.user_id], followup_days=3, remind_hours=24)
    first, second = make_items(site, pool["id"], 2)
    assert claim(http, rep, first) == 200 and claim(http, rep2, second) == 200
    clock.advance(days=2, hours=1)
    fire_due_timers(site)
    [zh] = list_notifications(site, rep.user_id)["items"]
    [en] = list_notifications(site, rep2.user_id)["items"]
    assert "即将回收" in zh["title"] and "即将回收" not in en["title"] and pool["name"] in en["title"]
    clock.advance(days=1)
    fire_due_timers(site)
    returned = [n["title"] for n in list_notifications(site, rep2.user_id)["items"] if n["id"] != en["id"]]
    assert len(returned) == 1 and "已回收" not in returned[0] and "not followed up" in returned[0]


def test_activity_moves_the_follow_up_deadline(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], followup_days=3)
    item = make_items(site, pool["id"], 1)[0]
    assert claim(http, rep, item) == 200
    clock.advance(days=2)
    site.records.update(rep, "items", item["id"], {"last_activity_at": clock.now().isoformat()})
    clock.advance(days=2)
    fire_due_timers(site)
    assert owner_of(site, item) == rep.user_id  # 3 days from the activity, not from the claim
    clock.advance(days=1, seconds=1)
    fire_due_timers(site)
    assert owner_of(site, item) is None


def test_the_close_deadline_and_a_closed_record(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], close_days=5, claim_limit=2)
    open_item, won = make_items(site, pool["id"], 2)
    assert claim(http, rep, open_item) == 200 and claim(http, rep, won) == 200
    with site.write() as conn:
        site.records.update(SYSTEM, "items", won["id"], {"closed": True}, conn=conn)
        assert mark_closed(site, conn, "items", [won["id"]]) == 1
    assert held(site, pool["id"], rep.user_id) == 1  # a closed record stops counting
    clock.advance(days=5, seconds=1)
    fire_due_timers(site)
    assert owner_of(site, open_item) is None and owner_of(site, won) == rep.user_id
    assert _events(site, open_item["id"])[-1]["rule"] == "close_days"


def test_level_overrides_give_a_level_its_own_deadline(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], followup_days=7, level_overrides={"A": {"followup_days": 30}})
    key = make_items(site, pool["id"], 1, level="A")[0]
    plain = make_items(site, pool["id"], 1, level="C")[0]
    assert claim(http, rep, key) == 200 and claim(http, rep, plain) == 200
    with site.engine.connect() as conn:
        found = deadlines_of(site, conn, "items", [key["id"], plain["id"]])
    assert (found[key["id"]]["followup"] - clock.now()).days == 30 and (found[plain["id"]]["followup"] - clock.now()).days == 7
    clock.advance(days=8)
    fire_due_timers(site)
    assert owner_of(site, plain) is None and owner_of(site, key) == rep.user_id
    clock.advance(days=23)
    fire_due_timers(site)
    assert owner_of(site, key) is None


def test_changing_a_pools_rule_moves_the_deadlines_of_held_records(site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], followup_days=10)
    item = make_items(site, pool["id"], 1)[0]
    assert claim(http, rep, item) == 200
    site.records.update(SYSTEM, "item_pools", pool["id"], {"followup_days": 2})
    clock.advance(days=2, seconds=1)
    fire_due_timers(site)
    assert owner_of(site, item) is None


def test_round_robin_spreads_100_records_evenly_over_4_members(site: Site, people: dict[str, Actor]) -> None:
    reps = [people[k].user_id for k in ("manager", "rep", "rep2", "outsider")]
    pool = make_pool(site, member_ids=reps, assignment="round_robin")
    items = make_items(site, pool["id"], 100)
    owners = Counter(owner_of(site, i) for i in items)
    assert owners == {r: 25 for r in reps}
    assert {e["rule"] for e in _events(site, items[0]["id"])} == {"round_robin:entered"}


def test_least_loaded_and_rules_strategies(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep, rep2 = people["rep"], people["rep2"]
    pool = make_pool(site, member_ids=[rep.user_id, rep2.user_id])
    assert claim(http, rep, make_items(site, pool["id"], 1)[0]) == 200
    site.records.update(SYSTEM, "item_pools", pool["id"], {"assignment": "least_loaded"})
    first = make_items(site, pool["id"], 1)[0]
    assert owner_of(site, first) == rep2.user_id
    site.records.update(SYSTEM, "item_pools", pool["id"], {
        "assignment": "rules", "assignment_rules": [{"field": "region", "value": "上海", "owner_id": rep.user_id}],
    })
    shanghai, beijing = make_items(site, pool["id"], 1, region="上海")[0], make_items(site, pool["id"], 1, region="北京")[0]
    assert owner_of(site, shanghai) == rep.user_id and owner_of(site, beijing) is None


def test_a_strategy_respects_the_limit(site: Site, people: dict[str, Actor]) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], assignment="round_robin", claim_limit=2)
    items = make_items(site, pool["id"], 3)
    assert [owner_of(site, i) for i in items] == [rep.user_id, rep.user_id, None]


def test_a_bad_rule_is_refused_naming_the_field(site: Site, http: Any, people: dict[str, Actor]) -> None:
    admin = http(people["admin"])
    answer = admin.post("/api/v1/item_pools", json={"name": "x", "masked_fields": ["name"]})
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"][-2:] == ["masked_fields", 0]
    answer = admin.post("/api/v1/item_pools", json={"name": "x", "assignment": "lottery"})
    assert answer.status_code == 422
    answer = admin.post("/api/v1/item_pools", json={"name": "x", "level_overrides": {"A": {"speed": 3}}})
    assert answer.status_code == 422


def test_reconcile_reports_and_repairs_drift(site: Site, people: dict[str, Actor], http: Any) -> None:
    import sqlalchemy as sa

    from plugins.pools.models import HOLDINGS

    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id])
    for item in make_items(site, pool["id"], 2):
        assert claim(http, rep, item) == 200
    assert reconcile(site)["items"] == {"holds_added": 0, "holds_removed": 0, "drift": []}
    with site.write() as conn:
        conn.execute(sa.update(HOLDINGS).values(held=7))
    report = reconcile(site)["items"]
    assert report["drift"] == [{"pool_id": pool["id"], "user_id": rep.user_id, "held": 7, "expected": 2}]
    assert held(site, pool["id"], rep.user_id) == 2


def test_a_night_of_returns_is_set_based_and_leaves_every_trace(site: Site, people: dict[str, Actor], clock: FrozenClock) -> None:
    """Many records due at once go back in one batch whose statements do not grow with the records:
    each still gets its ownership event and audit entry, the holds and counters are freed, the
    cooldowns start and no timer is left."""
    import sqlalchemy as sa

    from kernel import armed_timers
    from plugins.pools import assign

    admin, rep, rep2 = people["admin"], people["rep"], people["rep2"]
    pool = make_pool(site, member_ids=[rep.user_id, rep2.user_id], followup_days=2, remind_hours=12, cooldown_days=3)

    def night(count: int) -> list[str]:
        items = make_items(site, pool["id"], count)
        half = count // 2
        assign(site, admin, "items", [i["id"] for i in items[:half]], rep.user_id)
        assign(site, admin, "items", [i["id"] for i in items[half:]], rep2.user_id)
        clock.advance(days=3)
        seen: list[str] = []
        listener = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
        sa.event.listen(site.engine, "before_cursor_execute", listener)
        try:
            fire_due_timers(site)
        finally:
            sa.event.remove(site.engine, "before_cursor_execute", listener)
        ids = [i["id"] for i in items]
        assert [owner_of(site, i) for i in items] == [None] * count
        for item, owner in zip(ids, [rep.user_id] * half + [rep2.user_id] * (count - half)):
            last = _events(site, item)[-1]
            assert (last["action"], last["rule"], last["from_owner"], last["to_owner"], last["via_id"]) == ("return", "followup_days", owner, None, pool["id"])
        with site.engine.connect() as conn:
            audited = conn.execute(sa.text("SELECT record_id, changes FROM kernel_audit WHERE entity = 'items' AND action = 'return'")).all()
            assert sorted(r.record_id for r in audited if r.record_id in ids) == ids
            assert armed_timers(conn, "items", ids) == {}
            cooling = conn.scalar(sa.text("SELECT count(*) FROM pools_cooldowns WHERE entity = 'items'"))
        assert cooling >= count
        assert held(site, pool["id"], rep.user_id) == held(site, pool["id"], rep2.user_id) == 0
        assert any("INSERT INTO kernel_ownership_events" in s and "SELECT" in s for s in seen)  # made in SQL
        return seen

    few, many = night(6), night(60)
    assert len(many) == len(few), (len(few), len(many))  # ten times the records, the same statements


def test_a_returned_records_hold_stays_behind_and_never_counts_again(
    site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock
) -> None:
    """The return job leaves a returned record's hold row in place (not live: the record has no owner).
    Whatever happens to the record next gives back nothing from it — claimed or assigned by another
    member, given by the kernel's assign path, closed, deleted —, reconcile finds no drift in it, and a
    claim makes the hold its own again. The previous owner holds one other record throughout, so a slot
    given back twice would show."""
    import sqlalchemy as sa

    from plugins.pools import assign
    from plugins.pools.models import HOLDS

    admin, rep, rep2 = people["admin"], people["rep"], people["rep2"]
    pool = make_pool(site, member_ids=[rep.user_id, rep2.user_id], followup_days=2)
    returned = make_items(site, pool["id"], 5)
    for item in returned:
        assert claim(http, rep, item) == 200
    clock.advance(days=3)
    fire_due_timers(site)
    assert [owner_of(site, i) for i in returned] == [None] * 5 and held(site, pool["id"], rep.user_id) == 0
    with site.engine.connect() as conn:
        left = dict(conn.execute(sa.select(HOLDS.c.record_id, HOLDS.c.user_id).where(HOLDS.c.entity == "items")).all())
    assert left == {i["id"]: rep.user_id for i in returned}  # left behind by the return
    kept = make_items(site, pool["id"], 1)[0]
    assert claim(http, rep, kept) == 200 and held(site, pool["id"], rep.user_id) == 1
    assert reconcile(site)["items"] == {"holds_added": 0, "holds_removed": 0, "drift": []}

    first, second, third, fourth, fifth = returned
    assert claim(http, rep2, first) == 200  # the pool operation overwrites the hold
    assign(site, admin, "items", [second["id"]], rep2.user_id)
    site.records.assign(admin, "items", [third["id"]], rep2.user_id)  # the kernel's assign path: the hooks keep the holds
    with site.write() as conn:
        assert mark_closed(site, conn, "items", [fourth["id"]]) == 0  # unowned: nothing to free
    site.records.delete(admin, "items", fifth["id"])
    assert held(site, pool["id"], rep.user_id) == 1 and held(site, pool["id"], rep2.user_id) == 3
    taken = [first["id"], second["id"], third["id"]]
    with site.engine.connect() as conn:
        assert set(deadlines_of(site, conn, "items", taken)) == set(taken)  # the new holds' deadlines
    assert reconcile(site)["items"] == {"holds_added": 0, "holds_removed": 0, "drift": []}

    clock.advance(days=3)  # rep2's three go back too; rep's kept one with them
    fire_due_timers(site)
    assert held(site, pool["id"], rep.user_id) == held(site, pool["id"], rep2.user_id) == 0
    assert claim(http, rep, first) == 200 and held(site, pool["id"], rep.user_id) == 1  # rep's own again, counted once
    assert reconcile(site)["items"] == {"holds_added": 0, "holds_removed": 0, "drift": []}
