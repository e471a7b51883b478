"""Correct under concurrency, through the HTTP API of served apps: two server processes' worth of sites
(each its own engine and pool, as two workers have) take simultaneous claims.

* 50 concurrent claims by one member hold the claim limit, then the daily limit;
* 10 members claiming one record: exactly one owner, one event;
* a storm of claims, releases and transfers with the return job running: afterwards holdings equal
  the records held, every owner change has its event, and nobody is over a limit.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kernel import Actor, Site
from kernel import FrozenClock
from kernel.testing import fire_due_timers, issue_token, serve
from plugins.pools.models import HOLDINGS, HOLDS
from plugins.pools import plugin as pools_plugin

from . import poolplugin
from .conftest import SYSTEM, make_items, make_pool

WORKERS = 2


@pytest.fixture
def servers(site: Site, make_site: Callable[..., Site]) -> Iterator[list[str]]:
    """The base URLs of ``WORKERS`` served apps on the test's database, each with its own Site (engine,
    connection pool, caches) as a worker process has, re-reading plugins and fields every 30 s as deployed
    (the tests' default of every access makes each request open extra connections)."""
    sites = [make_site(pools_plugin, poolplugin, refresh_seconds=30) for _ in range(WORKERS)]
    with ExitStack() as stack:
        yield [stack.enter_context(serve(s)) for s in sites]


class Progress:
    """How many requests got their answer; a waiter wakes when it grows."""

    def __init__(self) -> None:
        self.done, self.changed = 0, threading.Condition()

    def one_more(self) -> None:
        with self.changed:
            self.done += 1
            self.changed.notify_all()

    def finish(self, stop: threading.Event) -> None:
        with self.changed:
            stop.set()
            self.changed.notify_all()

    def wait_past(self, count: int, stop: threading.Event) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.done > count or stop.is_set())
            return self.done


def post_all(site: Site, urls: list[str], calls: list[tuple[Actor, str, dict[str, Any]]], threads: int = 16,
             progress: Progress | None = None) -> list[int]:
    """POST each ``(actor, path, body)`` at once from ``threads`` threads, spread over the servers; the statuses."""
    tokens = {a.user_id: issue_token(site, a.user_id)["token"] for a, _, _ in calls}
    barrier = threading.Barrier(min(threads, len(calls)))

    def send(index: int) -> int:
        actor, path, body = calls[index]
        with httpx.Client(base_url=urls[index % len(urls)], timeout=120) as client:
            if index < barrier.parties:
                barrier.wait()
            status = client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[actor.user_id]}"}).status_code
        if progress is not None:
            progress.one_more()
        return status

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(send, range(len(calls))))


def owners(site: Site) -> dict[int, int | None]:
    table = site.view.entities["items"].table
    with site.engine.connect() as conn:
        return dict(conn.execute(sa.select(table.c.id, table.c.owner_id)).all())


def test_50_concurrent_claims_hold_the_limit_then_the_daily_limit(site: Site, people: dict[str, Actor], servers: list[str]) -> None:
    rep = people["rep"]
    pool = make_pool(site, member_ids=[rep.user_id], claim_limit=20)
    items = make_items(site, pool["id"], 100)
    statuses = post_all(site, servers, [(rep, f"/api/v1/items/{i['id']}/claim", {}) for i in items[:50]])
    assert sorted(set(statuses)) == [200, 409] and statuses.count(200) == 20
    assert list(owners(site).values()).count(rep.user_id) == 20
    site.records.update(SYSTEM, "item_pools", pool["id"], {"claim_limit": None, "daily_claim_limit": 30})
    statuses = post_all(site, servers, [(rep, f"/api/v1/items/{i['id']}/claim", {}) for i in items[50:]])
    assert statuses.count(200) == 10 and statuses.count(409) == 40  # 30 claims a day: 20 of them were made before
    assert list(owners(site).values()).count(rep.user_id) == 30


def test_ten_members_claiming_one_record_make_exactly_one_owner(site: Site, people: dict[str, Actor], servers: list[str]) -> None:
    reps = []
    for n in range(10):
        user = site.records.create(SYSTEM, "users", {"email": f"m{n}@example.com", "name": f"M{n}", "role": "sales_rep"})
        reps.append(Actor(user_id=user["id"], label=user["email"], role="sales_rep"))
    pool = make_pool(site, member_ids=[r.user_id for r in reps])
    item = make_items(site, pool["id"], 1)[0]
    statuses = post_all(site, servers, [(r, f"/api/v1/items/{item['id']}/claim", {}) for r in reps], threads=10)
    # the losers hear "already owned" (409), whether they lost inside the transaction or read the record after
    assert statuses.count(200) == 1 and statuses.count(409) == 9, statuses
    events = ownership_events(site)
    assert len(events) == 1 and events[0][2] == owners(site)[item["id"]]


def ownership_events(site: Site) -> list[tuple[int, int | None, int | None]]:
    table = sa.table("kernel_ownership_events", *(sa.column(n) for n in ("id", "entity", "record_id", "from_owner", "to_owner")))
    with site.engine.connect() as conn:
        query = sa.select(table.c.record_id, table.c.from_owner, table.c.to_owner).where(table.c.entity == "items").order_by(table.c.id)
        return [tuple(r) for r in conn.execute(query)]


def test_a_storm_keeps_every_invariant(site: Site, people: dict[str, Actor], servers: list[str], clock: FrozenClock) -> None:
    members = [people[k] for k in ("manager", "rep", "rep2", "outsider")]
    pool = make_pool(site, member_ids=[m.user_id for m in members], claim_limit=4, daily_claim_limit=40, followup_days=1)
    items = make_items(site, pool["id"], 30)
    chooser = random.Random(18)
    calls = []
    for _ in range(240):
        actor, item = chooser.choice(members), chooser.choice(items)
        kind = chooser.choice(("claim", "claim", "release", "transfer"))
        body = {"reason": "other"} if kind == "release" else {"owner_id": chooser.choice(members).user_id} if kind == "transfer" else {}
        calls.append((actor, f"/api/v1/items/{item['id']}/{kind}", body))
    stop, progress = threading.Event(), Progress()

    def return_job() -> int:
        """The return job, run again each time 8 more requests were answered, moving the clock 4 hours each time."""
        fired = seen = 0
        while not stop.is_set():
            seen = progress.wait_past(seen + 7, stop)
            clock.advance(hours=4)
            fired += fire_due_timers(site).fired
        return fired

    with ThreadPoolExecutor(1) as job:
        running = job.submit(return_job)
        statuses = post_all(site, servers, calls, progress=progress)
        progress.finish(stop)
        returned = running.result()
    assert set(statuses) <= {200, 404, 409, 422}, statuses  # 404: a record held by another is out of sight
    assert statuses.count(200) > 20 and returned > 0
    check_invariants(site, pool, limit=4)


def check_invariants(site: Site, pool: dict[str, Any], limit: int) -> None:
    held_now = owners(site)
    with site.engine.connect() as conn:
        counters = {r.user_id: r.held for r in conn.execute(sa.select(HOLDINGS).where(HOLDINGS.c.pool_id == pool["id"]))}
        holds = dict(conn.execute(sa.select(HOLDS.c.record_id, HOLDS.c.user_id)).all())
    by_owner: dict[int, int] = {}
    for owner in held_now.values():
        if owner is not None:
            by_owner[owner] = by_owner.get(owner, 0) + 1
    assert {u: n for u, n in counters.items() if n} == by_owner  # holdings = records held
    live = {r: u for r, u in holds.items() if held_now.get(r) == u}
    assert live == {r: o for r, o in held_now.items() if o is not None}  # every held record has its live hold
    assert all(r in held_now and held_now[r] is None for r in holds.keys() - live.keys())  # the others: left by returns
    assert all(n <= limit for n in by_owner.values())  # nobody over the limit
    last: dict[int, int | None] = {}
    for record_id, before, after in ownership_events(site):  # every owner change has its event, in order
        assert last.get(record_id) == before, (record_id, before, after)
        last[record_id] = after
    assert {r: last.get(r) for r in held_now} == held_now
