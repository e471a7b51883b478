"""The claims of the sea through the HTTP API of two served apps (two workers: each its own Site, engine and
connection pool) on the test's database: one owner for a customer ten members claim at once, and the
claim limit held by 50 simultaneous claims of one member."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from kernel import Actor, Site
from kernel.testing import issue_token, serve

from . import closedplugin
from .conftest import SYSTEM, make_customers, make_sea
from .support import held, required_plugins

WORKERS = 2


@pytest.fixture
def servers(site: Site, make_site: Callable[..., Site]) -> Iterator[list[str]]:
    sites = [make_site(*required_plugins(), closedplugin, refresh_seconds=30) for _ in range(WORKERS)]
    with ExitStack() as stack:
        yield [stack.enter_context(serve(s)) for s in sites]


def post_all(site: Site, servers: list[str], calls: list[tuple[Actor, str]], threads: int) -> list[int]:
    tokens = {actor.user_id: issue_token(site, actor.user_id)["token"] for actor, _ in calls}

    def post(n_call: tuple[int, tuple[Actor, str]]) -> int:
        n, (actor, url) = n_call
        headers = {"Authorization": f"Bearer {tokens[actor.user_id]}"}
        return httpx.post(servers[n % len(servers)] + url, json={}, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(post, enumerate(calls)))


def test_ten_members_on_two_workers_make_exactly_one_owner(site: Site, people: dict[str, Actor], servers: list[str]) -> None:
    members = []
    for n in range(10):
        user = site.records.create(SYSTEM, "users", {"email": f"w{n}@example.com", "name": f"W{n}", "role": "sales_rep"})
        members.append(Actor(user_id=user["id"], label=user["email"], role="sales_rep"))
    sea = make_sea(site, people, member_ids=[m.user_id for m in members])
    customer = make_customers(site, sea["id"], 1)[0]
    statuses = post_all(site, servers, [(m, f"/api/v1/customers/{customer['id']}/claim") for m in members], threads=10)
    assert statuses.count(200) == 1 and statuses.count(409) == 9, statuses
    owner = site.records.get(SYSTEM, "customers", customer["id"])["owner_id"]
    assert owner in {m.user_id for m in members}
    assert sum(held(site, sea["id"], m.user_id) for m in members) == 1


def test_fifty_claims_of_one_member_on_two_workers_hold_the_limit(site: Site, people: dict[str, Actor], servers: list[str]) -> None:
    rep = people["rep"]
    sea = make_sea(site, people, claim_limit=10)
    customers = make_customers(site, sea["id"], 50)
    statuses = post_all(site, servers, [(rep, f"/api/v1/customers/{c['id']}/claim") for c in customers], threads=10)
    assert statuses.count(200) == 10 and statuses.count(409) == 40, statuses
    assert held(site, sea["id"], rep.user_id) == 10
    assert site.records.list(SYSTEM, "customers", filters={"owner_id": rep.user_id}, exact_total=True).total == 10
