"""Claiming, assigning, releasing and moving customers through the HTTP API, under concurrency on the
test's database (SQLite or PostgreSQL): a customer is never held by two reps, a member never above the limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kernel import Actor, FrozenClock, Site

from .conftest import SYSTEM, make_customers, make_sea
from .support import held, required_plugins


def owner_of(site: Site, customer: dict[str, Any]) -> int | None:
    return site.records.get(SYSTEM, "customers", customer["id"])["owner_id"]


def reps_of(site: Site, team_id: int, count: int) -> list[Actor]:
    found = []
    for i in range(count):
        user = site.records.create(SYSTEM, "users", {"email": f"member{i}@example.com", "name": f"Member {i}", "role": "sales_rep", "team_id": team_id})
        found.append(Actor(user_id=user["id"], label=user["email"], role="sales_rep", team_id=team_id))
    return found


def test_ten_members_claiming_one_customer_leave_exactly_one_owner(site: Site, people: dict[str, Actor], http: Any) -> None:
    members = reps_of(site, people["rep"].team_id, 10)
    sea = make_sea(site, people, member_team_ids=[people["rep"].team_id], claim_limit=5)
    customer = make_customers(site, sea["id"], 1)[0]
    clients = [http(member) for member in members]
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda c: c.post(f"/api/v1/customers/{customer['id']}/claim", json={}), clients))
    codes = [a.status_code for a in answers]
    # every loser hears that the customer is taken (409), even one whose request came after the
    # winner's commit, when the customer had already left their sight
    assert codes.count(200) == 1 and codes.count(409) == 9, [a.text for a in answers]
    winner = members[[a.status_code for a in answers].index(200)]
    assert owner_of(site, customer) == winner.user_id
    assert [held(site, sea["id"], m.user_id) for m in members].count(1) == 1
    assert sum(held(site, sea["id"], m.user_id) for m in members) == 1
    late = http(members[(codes.index(200) + 1) % 10]).post(f"/api/v1/customers/{customer['id']}/claim", json={})
    assert late.status_code == 409 and late.json()["error"]["details"][0]["msg"] == "already owned"


def test_fifty_concurrent_claims_by_one_member_hold_the_limit(site: Site, people: dict[str, Actor], http: Any) -> None:
    rep = people["rep"]
    sea = make_sea(site, people, claim_limit=7)
    customers = make_customers(site, sea["id"], 50)
    client = http(rep)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda c: client.post(f"/api/v1/customers/{c['id']}/claim", json={}), customers))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [409] * 43
    assert all("limit" in a.json()["error"]["message"] for a in answers if a.status_code == 409)
    assert held(site, sea["id"], rep.user_id) == 7
    owned = site.records.list(SYSTEM, "customers", filters={"owner_id": rep.user_id}, exact_total=True)
    assert owned.total == 7


def test_release_needs_a_reason_from_the_list_and_the_cooldown_names_its_end(
    site: Site, people: dict[str, Actor], http: Any, clock: FrozenClock
) -> None:
    rep = people["rep"]
    sea = make_sea(site, people, cooldown_days=3)
    customer = make_customers(site, sea["id"], 1)[0]
    client = http(rep)
    assert client.post(f"/api/v1/customers/{customer['id']}/claim", json={}).status_code == 200
    assert client.post(f"/api/v1/customers/{customer['id']}/release", json={}).status_code == 422
    bad = client.post(f"/api/v1/customers/{customer['id']}/release", json={"reason": "bored"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"][-1] == "reason"
    released = client.post(f"/api/v1/customers/{customer['id']}/release", json={"reason": "无意向"})
    assert released.status_code == 200, released.text
    assert released.json()["owner_id"] is None and released.json()["sea_id"] == sea["id"]
    assert released.json()["phone"] is None  # masked again for the member
    assert held(site, sea["id"], rep.user_id) == 0
    cooled = client.post(f"/api/v1/customers/{customer['id']}/claim", json={})
    assert cooled.status_code == 409 and "2026-01-08" in cooled.json()["error"]["message"], cooled.text
    assert http(people["rep2"]).post(f"/api/v1/customers/{customer['id']}/claim", json={}).status_code == 200


def test_an_admin_assigns_to_members_only_and_an_owner_transfers(site: Site, people: dict[str, Actor], http: Any) -> None:
    sea = make_sea(site, people)
    customer = make_customers(site, sea["id"], 1)[0]
    manager = http(people["manager"])
    refused = manager.post(f"/api/v1/customers/{customer['id']}/assign", json={"owner_id": people["outsider"].user_id})
    assert refused.status_code == 409, refused.text
    assert http(people["rep"]).post(f"/api/v1/customers/{customer['id']}/assign", json={"owner_id": people["rep"].user_id}).status_code in (403, 409)
    assigned = manager.post(f"/api/v1/customers/{customer['id']}/assign", json={"owner_id": people["rep"].user_id})
    assert assigned.status_code == 200 and assigned.json()["owner_id"] == people["rep"].user_id
    moved = http(people["rep"]).post(f"/api/v1/customers/{customer['id']}/transfer", json={"owner_id": people["rep2"].user_id})
    assert moved.status_code == 200 and owner_of(site, customer) == people["rep2"].user_id
    assert held(site, sea["id"], people["rep"].user_id) == 0 and held(site, sea["id"], people["rep2"].user_id) == 1


def test_non_members_see_nothing_of_a_sea(site: Site, people: dict[str, Actor], http: Any) -> None:
    sea = make_sea(site, people)
    customer = make_customers(site, sea["id"], 1)[0]
    outsider = http(people["outsider"])
    assert outsider.get("/api/v1/customers").json()["items"] == []
    assert outsider.get(f"/api/v1/customers/{customer['id']}").status_code == 404
    assert outsider.get("/api/v1/seas").json()["items"] == []
    assert outsider.get(f"/api/v1/seas/{sea['id']}").status_code == 404
    assert outsider.post(f"/api/v1/customers/{customer['id']}/claim", json={}).status_code == 404
    member = http(people["rep"])
    assert [s["id"] for s in member.get("/api/v1/seas").json()["items"]] == [sea["id"]]
    assert [c["id"] for c in member.get("/api/v1/customers").json()["items"]] == [customer["id"]]


def test_sea_admins_move_customers_in_by_ids_or_filter_all_or_nothing(site: Site, people: dict[str, Actor], http: Any) -> None:
    sea = make_sea(site, people)
    rep = people["rep"]
    mine = [site.records.create(SYSTEM, "customers", {"name": f"旧客户 {i}", "kind": "company", "owner_id": rep.user_id,
                                                      "region": "shanghai" if i < 2 else "beijing"}) for i in range(4)]
    assert http(rep).post("/api/v1/plugins/sea/move", json={"sea_id": sea["id"], "ids": [mine[0]["id"]]}).status_code == 403
    bad = http(people["manager"]).post("/api/v1/plugins/sea/move", json={"sea_id": sea["id"], "ids": "all"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"][-1] == "ids"
    moved = http(people["manager"]).post("/api/v1/plugins/sea/move", json={"sea_id": sea["id"], "ids": [mine[0]["id"]]})
    assert moved.status_code == 200 and moved.json()["moved"] == 1, moved.text
    assert owner_of(site, mine[0]) is None
    admin = http(people["admin"])
    by_filter = admin.post("/api/v1/plugins/sea/move", json={"sea_id": sea["id"], "filter": {"region": "beijing"}, "reason": "区域调整"})
    assert by_filter.status_code == 200 and by_filter.json()["moved"] == 2
    waiting = [c for c in site.records.list(SYSTEM, "customers", filters={"sea_id": sea["id"]}, limit=50).items if c["owner_id"] is None]
    assert sorted(c["id"] for c in waiting) == sorted([mine[0]["id"], mine[2]["id"], mine[3]["id"]])
    assert owner_of(site, mine[1]) == rep.user_id
    assert held(site, sea["id"], rep.user_id) == 0


def test_new_ownerless_customers_enter_the_default_sea_and_its_strategy_places_them(
    make_site: Any,
) -> None:
    site = make_site(*required_plugins(), plugin_settings={"sea": {"default_sea": 1}})
    rep = site.records.create(SYSTEM, "users", {"email": "r@example.com", "name": "R", "role": "sales_rep"})
    sea = site.records.create(SYSTEM, "seas", {"name": "默认公海", "member_ids": [rep["id"]], "assignment": "round_robin"})
    assert sea["id"] == 1
    placed = site.records.create(SYSTEM, "customers", {"name": "无主客户", "kind": "company", "owner_id": None})
    assert placed["sea_id"] == 1
    assert site.records.get(SYSTEM, "customers", placed["id"])["owner_id"] == rep["id"]  # round robin gave it to the only member
    owned = site.records.create(SYSTEM, "customers", {"name": "有主客户", "kind": "company", "owner_id": rep["id"]})
    assert owned["sea_id"] is None
