"""Scenario: claims per second — 16 HTTP clients claiming records from one pool of a served app.

```
python -m bench.pools_claims                       # SQLite and PostgreSQL, 16 clients, 10 s each
python -m bench.pools_claims --db sqlite --duration 5
python -m bench.pools_claims --clients 16 --rows 50000
```

For each database a fresh SQLite file or PostgreSQL schema (thrown away afterwards) gets the kernel,
``pools`` and the bench's client plugin (``bench/pools_plugin.py``: ``prospects`` in
``prospect_pools``), one pool whose members are ``--clients`` sales reps, with a claim limit and a
daily claim limit above what the run can reach (so both conditional updates run on every claim),
a follow-up deadline (so every claim arms the record's return and reminder timers) and a masked
field, and ``--rows`` unowned prospects in it (loaded with Core: setup).

Then it serves the app as ``crm serve --workers 2`` does (``uvicorn … --factory --workers 2``, uvloop
and httptools; ``--workers N`` for another count) and starts ``--clients`` threads, one per rep, each with its own keep-alive
connection and bearer token, each claiming its own slice of the pool's records one after the other
(``POST /api/v1/prospects/{id}/claim``) for ``--duration`` seconds after a 1 s warm-up. Every claim
is the whole engine: the record locked, the member's holdings row and daily row taken by conditional
UPDATEs, the owner changed through the kernel's assign path (validation, hooks, audit entry, outbox
event, ownership event with the pool and the rule), the hold row, the timers.

It prints claims/s, latency p50/p99, any non-200 answer (a failure), and checks afterwards that
the database agrees: records held = 200 answers = ownership events = sum of holdings.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa

from kernel import Actor
from kernel.migrations import upgrade
from kernel.web.auth import issue_token

from .databases import bench_arguments, on_each_database
from .http import server
from .pools_plugin import TABLE, PoolsBase, make_site

SYSTEM = Actor.system("cli")
CHUNK = 10_000


@dataclass
class Client:
    token: str
    ids: list[int]
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    measured: int = 0


def prepare(url: str, clients: int, rows: int) -> tuple[int, list[Client]]:
    """The database for a run: the pool, its members with their tokens, and ``rows`` unowned prospects in it."""
    site = make_site(url)
    upgrade(site)
    PoolsBase.metadata.create_all(site.engine)
    team = site.records.create(SYSTEM, "teams", {"name": "Bench"})
    reps = [
        site.records.create(SYSTEM, "users", {"email": f"rep{i}@bench.example", "name": f"Rep {i}", "role": "sales_rep", "team_id": team["id"]})
        for i in range(clients)
    ]
    pool = site.records.create(SYSTEM, "prospect_pools", {
        "name": "Bench pool", "member_ids": [r["id"] for r in reps], "claim_limit": rows, "daily_claim_limit": rows,
        "followup_days": 7, "remind_hours": 24, "masked_fields": ["phone"],
    })
    now = datetime.now(timezone.utc)
    with site.engine.begin() as conn:
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(TABLE), [
                {"name": f"prospect {i}", "phone": f"1380013{i % 10000:04d}", "pool_id": pool["id"], "created_at": now, "updated_at": now, "custom": {}}
                for i in range(start, min(rows, start + CHUNK))
            ])
        ids = list(conn.scalars(sa.select(TABLE.c.id).order_by(TABLE.c.id)))
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    found = [Client(issue_token(site, rep["id"])["token"], ids[i::clients]) for i, rep in enumerate(reps)]
    site.close()
    return pool["id"], found


def claim_loop(base: str, client: Client, start_at: float, measure_from: float, stop_at: float) -> None:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"}
    while time.monotonic() < start_at:
        time.sleep(0.001)
    for record_id in client.ids:
        began = time.monotonic()
        if began >= stop_at:
            break
        conn.request("POST", f"/api/v1/prospects/{record_id}/claim", body=b"{}", headers=headers)
        answer = conn.getresponse()
        answer.read()
        ended = time.monotonic()
        client.statuses[answer.status] = client.statuses.get(answer.status, 0) + 1
        if began >= measure_from:
            client.latencies.append(ended - began)
            client.measured += answer.status == 200
    conn.close()


def check(url: str, pool_id: int, claimed: int) -> dict[str, int]:
    """What the database holds after the run: records held, ownership events, the holdings' sum."""
    site = make_site(url)
    try:
        with site.engine.connect() as conn:
            held = conn.scalar(sa.select(sa.func.count()).where(TABLE.c.owner_id.is_not(None), TABLE.c.pool_id == pool_id))
            events = conn.scalar(sa.text("SELECT count(*) FROM kernel_ownership_events WHERE entity = 'prospects' AND action = 'claim'"))
            holdings = conn.scalar(sa.text("SELECT coalesce(sum(held), 0) FROM pools_holdings WHERE entity = 'prospects'"))
    finally:
        site.close()
    found = {"held": held, "events": events, "holdings": holdings}
    if len(set(found.values()) | {claimed}) != 1:
        raise SystemExit(f"the database disagrees with the answers: {found}, 200 answers: {claimed}")
    return found


def run(kind: str, url: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    pool_id, clients = prepare(url, args.clients, args.rows)
    print(f"{kind}: prepared {args.rows:,} prospects and {args.clients} members in {time.perf_counter() - started:.1f} s")
    with server("bench.pools_plugin:app", url, workers=args.workers) as base:
        start_at = time.monotonic() + 0.5
        measure_from, stop_at = start_at + 1.0, start_at + 1.0 + args.duration
        threads = [threading.Thread(target=claim_loop, args=(base, c, start_at, measure_from, stop_at)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses: dict[int, int] = {}
    for client in clients:
        for status, count in client.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    latencies = sorted(x for c in clients for x in c.latencies)
    measured = sum(c.measured for c in clients)
    if not latencies:
        raise SystemExit(f"{kind}: no claim answered within the run")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    found = check(url, pool_id, statuses.get(200, 0))
    print(f"{kind}: {measured / args.duration:,.0f} claims/s with {args.clients} clients over {args.duration} s "
          f"(p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms); answers {json.dumps(statuses)}; "
          f"after: {found['held']:,} held = {found['events']:,} claim events = {found['holdings']:,} in holdings")
    if set(statuses) != {200}:
        raise SystemExit(f"{kind}: some claims were refused or failed: {statuses}")


def main() -> None:
    parser = bench_arguments(__doc__, db="both", rows=100_000, rows_help="unowned prospects in the pool (more than the run claims)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=int, default=10, help="measured seconds of load (after a 1 s warm-up)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (crm serve --workers)")
    on_each_database(parser, run)

if __name__ == "__main__":
    main()
