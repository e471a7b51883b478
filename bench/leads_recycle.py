"""Scenario: the leads' recycle job over 1M held leads, 1% overdue, against one hand-written UPDATE.

```
python -m bench.leads_recycle                         # SQLite, 1,000,000 leads
python -m bench.leads_recycle --db postgres           # a fresh PostgreSQL schema ($CRM_BENCH_DATABASE_URL)
python -m bench.leads_recycle --rows 100000 --runs 3  # under load
```

The real plugins (``customers``, ``pools``, ``leads``): ``--rows`` leads held by 50 reps from one lead
pool whose follow-up deadline is 7 days; one in a hundred was assigned 8 days ago (overdue), the others
a day ago. Loading is setup, not timed: the leads, the engine's hold rows and holdings counts, and each
lead's return timer (as the engine arms it: the assignment + 7 days).

- **ours**: the kernel's timer pass (what ``crm jobs run`` / the worker runs) with the pools engine's
  return handler on leads: due timers claimed in batches, each batch re-checked (still owned, not
  converted — the leads' ``pools_closed_ids`` —, past its deadline), sent back with ``update_many`` and
  an ownership change — validation, the leads' update hooks (an ``assigned`` lead becomes ``new``),
  the state event of that move, one audit entry and one ownership event per lead —, holds removed,
  holdings freed, cooldowns started, each owner notified once;
- **hand**: one ``UPDATE leads_leads SET owner_id = NULL, status = 'new' … WHERE id IN (SELECT record_id
  FROM kernel_timers WHERE … next_at <= now)`` — the deadline check and the owner change, nothing else.

The two sides run interleaved ``--runs`` times (the returned leads put back between, not timed); the
medians and hand/ours are printed at the end.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from kernel import Actor, FrozenClock, Settings, Site, UTCDateTime, arm_timers
from kernel.migrations import upgrade
from kernel.timers import fire_due
from plugins.leads.models import LEADS
from plugins.pools.models import COOLDOWNS, HOLDINGS, HOLDS
from plugins.pools.returns import RETURN

from .databases import DEFAULT_POSTGRES_URL, POSTGRES_ENV, fresh_database

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
SYSTEM = Actor.system("cli")
CHUNK = 10_000
REPS = 50
FOLLOWUP_DAYS = 7
TIMERS = sa.table("kernel_timers", sa.column("entity"), sa.column("record_id"), sa.column("name"), sa.column("next_at", UTCDateTime()))


def make_site(url: str) -> Site:
    plugins = [importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pools", "leads")]
    return Site(Settings(database_url=url, plugins=("customers", "pools", "leads"), refresh_seconds=3600), clock=FrozenClock(NOW),
                extra_plugins=plugins)


def assigned_at(i: int) -> datetime:
    return NOW - timedelta(days=8) if i % 100 == 0 else NOW - timedelta(days=1)


def load(site: Site, rows: int) -> tuple[int, list[int], list[int]]:
    team = site.records.create(SYSTEM, "teams", {"name": "Bench"})
    reps = [site.records.create(SYSTEM, "users", {"email": f"rep{i}@bench.example", "name": f"Rep {i}", "role": "sales_rep", "team_id": team["id"]})["id"]
            for i in range(REPS)]
    pool = site.records.create(SYSTEM, "lead_pools", {"name": "Bench pool", "member_ids": reps, "followup_days": FOLLOWUP_DAYS})["id"]
    started = time.perf_counter()
    with site.engine.begin() as conn:
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(LEADS), [
                {"name": f"线索 {i}", "company": f"公司 {i}", "pool_id": pool, "owner_id": reps[i % REPS], "status": "assigned", "score": 0,
                 "score_reasons": [], "created_at": NOW, "updated_at": NOW, "custom": {}}
                for i in range(start, min(rows, start + CHUNK))
            ])
        ids = list(conn.scalars(sa.select(LEADS.c.id).order_by(LEADS.c.id)))
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(HOLDS), [
                {"entity": "leads", "record_id": ids[k], "pool_id": pool, "user_id": reps[k % REPS], "assigned_at": assigned_at(k), "counted": True}
                for k in range(start, min(rows, start + CHUNK))
            ])
        conn.execute(sa.insert(HOLDINGS), [{"entity": "leads", "pool_id": pool, "user_id": rep, "held": len(range(k, rows, REPS))} for k, rep in enumerate(reps)])
    print(f"  loaded {rows:,} held leads and their holds in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        with site.write() as conn:
            part = ids[start : start + CHUNK]
            arm_timers(conn, "leads", part, RETURN, [assigned_at(start + k) + timedelta(days=FOLLOWUP_DAYS) for k in range(len(part))])
    print(f"  armed {rows:,} return timers in {time.perf_counter() - started:.1f} s")
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    due = list(range(0, rows, 100))
    return pool, [ids[k] for k in due], [reps[k % REPS] for k in due]


def hand(site: Site) -> tuple[float, int]:
    started = time.perf_counter()
    with site.write() as conn:
        due = sa.select(TIMERS.c.record_id).where(TIMERS.c.entity == "leads", TIMERS.c.name == RETURN, TIMERS.c.next_at <= NOW)
        changed = conn.execute(sa.update(LEADS).where(LEADS.c.id.in_(due)).values(owner_id=None, status="new", updated_at=NOW)).rowcount
    return time.perf_counter() - started, changed


def put_back(site: Site, pool: int, due: list[int], owners: list[int], *, ours: bool) -> None:
    with site.write() as conn:
        for start in range(0, len(due), CHUNK):
            part, whose = due[start : start + CHUNK], owners[start : start + CHUNK]
            for owner in sorted(set(whose)):
                mine = [i for i, o in zip(part, whose) if o == owner]
                conn.execute(sa.update(LEADS).where(LEADS.c.id.in_(mine)).values(owner_id=owner, status="assigned"))
                if ours:
                    conn.execute(sa.update(HOLDINGS).where(HOLDINGS.c.entity == "leads", HOLDINGS.c.pool_id == pool, HOLDINGS.c.user_id == owner)
                                 .values(held=HOLDINGS.c.held + len(mine)))
            if ours:
                conn.execute(sa.delete(HOLDS).where(HOLDS.c.entity == "leads", HOLDS.c.record_id.in_(part)))
                conn.execute(sa.insert(HOLDS), [{"entity": "leads", "record_id": i, "pool_id": pool, "user_id": o,
                                                 "assigned_at": NOW - timedelta(days=8), "counted": True} for i, o in zip(part, whose)])
                conn.execute(sa.delete(COOLDOWNS).where(COOLDOWNS.c.entity == "leads", COOLDOWNS.c.record_id.in_(part)))
                arm_timers(conn, "leads", part, RETURN, NOW - timedelta(days=1))


def measure(kind: str, url: str, rows: int, runs: int) -> None:
    site = make_site(url)
    upgrade(site)
    pool, due, owners = load(site, rows)
    ours_times, hand_times = [], []
    try:
        for run in range(runs):
            seconds, changed = hand(site)
            assert changed == len(due), (changed, len(due))
            hand_times.append(seconds)
            put_back(site, pool, due, owners, ours=False)
            started = time.perf_counter()
            fired = fire_due(site)
            ours_times.append(time.perf_counter() - started)
            with site.engine.connect() as conn:
                back = conn.scalar(sa.select(sa.func.count()).where(LEADS.c.owner_id.is_(None), LEADS.c.status == "new"))
            assert fired.failed == 0 and back == len(due), (fired, back, len(due))
            print(f"  run {run + 1}: ours {ours_times[-1]:.2f} s ({fired.fired:,} timers, {fired.batches} batches), hand {hand_times[-1]:.3f} s")
            put_back(site, pool, due, owners, ours=True)
        o, h = statistics.median(ours_times), statistics.median(hand_times)
        print(f"{kind}: {rows:,} held leads, {len(due):,} due: ours {o:.2f} s ({len(due) / o:,.0f} returns/s), hand {h:.3f} s, hand/ours {h / o:.2f}")
    finally:
        site.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help=f"PostgreSQL to make a throw-away schema in (default ${POSTGRES_ENV} or {DEFAULT_POSTGRES_URL})")
    args = parser.parse_args()
    if args.database_url:
        import os

        os.environ[POSTGRES_ENV] = args.database_url
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        with fresh_database(kind) as url:
            measure(kind, url, args.rows, args.runs)


if __name__ == "__main__":
    main()
