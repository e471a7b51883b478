"""Scenario: the pools return job over 1M held records, 1% overdue, against one hand-written UPDATE.

```
python -m bench.pools_return                         # SQLite, 1,000,000 records
python -m bench.pools_return --db postgres           # a fresh PostgreSQL schema ($CRM_BENCH_DATABASE_URL)
python -m bench.pools_return --rows 100000 --runs 1  # a quick look
```

``--rows`` prospects (``bench/pools_plugin.py``) are held by 50 sales reps from one pool whose
follow-up deadline is 7 days; one in a hundred was assigned 8 days ago (overdue), the others a day
ago. Loading is setup, not timed: the records, the engine's hold rows and holdings counts, and each
record's return timer (``kernel.arm_timers``, as the engine arms it: the assignment + 7 days).

- **ours**: the kernel's timer pass (``kernel.timers.fire_due``) running the engine's return
  handler: due timers claimed in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), each batch's
  records re-read and checked against the pool's rules (level overrides, the closed hook), sent back
  with ``update_many`` and an ownership change — validation, update hooks, one audit entry (its
  outbox event) and one ownership event (pool, rule, reason) per record —, their holds removed, the
  owners' holdings freed, cooldowns started, and each owner notified once per pool;
- **hand**: one ``UPDATE prospects SET owner_id = NULL … WHERE id IN (SELECT record_id FROM
  kernel_timers WHERE entity = 'prospects' AND name = 'pool_return' AND next_at <= now)`` on the timers'
  index — the deadline check and the owner change, nothing else.

Each run puts the returned records back (owners, holds, holdings, timers; not timed) between the two
sides and prints both times; at the end the medians and hand/ours (target ≥ 0.3).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from kernel import Actor, FrozenClock, UTCDateTime, arm_timers
from kernel.migrations import upgrade
from kernel.timers import fire_due
from plugins.pools.models import COOLDOWNS, HOLDINGS, HOLDS
from plugins.pools.returns import RETURN

from .databases import DEFAULT_POSTGRES_URL, POSTGRES_ENV, fresh_database
from .pools_plugin import TABLE, PoolsBase, make_site

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
SYSTEM = Actor.system("cli")
CHUNK = 10_000
REPS = 50
FOLLOWUP_DAYS = 7
TIMERS = sa.table("kernel_timers", sa.column("entity"), sa.column("record_id"), sa.column("name"), sa.column("next_at", UTCDateTime()))


def assigned_at(i: int) -> datetime:
    """One record in a hundred was assigned 8 days ago (overdue by a day); the others yesterday."""
    return NOW - timedelta(days=8) if i % 100 == 0 else NOW - timedelta(days=1)


def load(site, rows: int) -> tuple[int, list[int], list[int]]:
    """The pool, its reps and ``rows`` held prospects with their holds, holdings and return timers; the due ids and their owners."""
    team = site.records.create(SYSTEM, "teams", {"name": "Bench"})
    reps = [site.records.create(SYSTEM, "users", {"email": f"rep{i}@bench.example", "name": f"Rep {i}", "role": "sales_rep", "team_id": team["id"]})["id"]
            for i in range(REPS)]
    pool = site.records.create(SYSTEM, "prospect_pools", {"name": "Bench pool", "member_ids": reps, "followup_days": FOLLOWUP_DAYS})["id"]
    started = time.perf_counter()
    with site.engine.begin() as conn:
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(TABLE), [
                {"name": f"prospect {i}", "pool_id": pool, "owner_id": reps[i % REPS], "created_at": NOW, "updated_at": NOW, "custom": {}}
                for i in range(start, min(rows, start + CHUNK))
            ])
        ids = list(conn.scalars(sa.select(TABLE.c.id).order_by(TABLE.c.id)))
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(HOLDS), [
                {"entity": "prospects", "record_id": ids[k], "pool_id": pool, "user_id": reps[k % REPS], "assigned_at": assigned_at(k), "counted": True}
                for k in range(start, min(rows, start + CHUNK))
            ])
        conn.execute(sa.insert(HOLDINGS), [{"entity": "prospects", "pool_id": pool, "user_id": rep, "held": len(range(k, rows, REPS))} for k, rep in enumerate(reps)])
    print(f"  loaded {rows:,} held records and their holds in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        with site.write() as conn:
            part = ids[start : start + CHUNK]
            arm_timers(conn, "prospects", part, RETURN, [assigned_at(start + k) + timedelta(days=FOLLOWUP_DAYS) for k in range(len(part))])
    print(f"  armed {rows:,} return timers in {time.perf_counter() - started:.1f} s")
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    due = [k for k in range(0, rows, 100)]
    return pool, [ids[k] for k in due], [reps[k % REPS] for k in due]


def hand(site) -> tuple[float, int]:
    started = time.perf_counter()
    with site.write() as conn:
        due = sa.select(TIMERS.c.record_id).where(TIMERS.c.entity == "prospects", TIMERS.c.name == RETURN, TIMERS.c.next_at <= NOW)
        changed = conn.execute(sa.update(TABLE).where(TABLE.c.id.in_(due)).values(owner_id=None, updated_at=NOW)).rowcount
    return time.perf_counter() - started, changed


def put_back(site, pool: int, due: list[int], owners: list[int], *, ours: bool) -> None:
    """The due records held again as before (not timed); after ours, also their holds, holdings and timers."""
    with site.write() as conn:
        for start in range(0, len(due), CHUNK):
            part, whose = due[start : start + CHUNK], owners[start : start + CHUNK]
            for owner in sorted(set(whose)):
                mine = [i for i, o in zip(part, whose) if o == owner]
                conn.execute(sa.update(TABLE).where(TABLE.c.id.in_(mine)).values(owner_id=owner))
                if ours:
                    conn.execute(sa.update(HOLDINGS).where(HOLDINGS.c.pool_id == pool, HOLDINGS.c.user_id == owner).values(held=HOLDINGS.c.held + len(mine)))
            if ours:
                conn.execute(sa.delete(HOLDS).where(HOLDS.c.entity == "prospects", HOLDS.c.record_id.in_(part)))
                conn.execute(sa.insert(HOLDS), [{"entity": "prospects", "record_id": i, "pool_id": pool, "user_id": o, "assigned_at": NOW - timedelta(days=8), "counted": True}
                                               for i, o in zip(part, whose)])
                conn.execute(sa.delete(COOLDOWNS).where(COOLDOWNS.c.entity == "prospects", COOLDOWNS.c.record_id.in_(part)))
                arm_timers(conn, "prospects", part, RETURN, NOW - timedelta(days=1))


def measure(kind: str, url: str, rows: int, runs: int) -> None:
    site = make_site(url, clock=FrozenClock(NOW), refresh_seconds=3600)
    upgrade(site)
    PoolsBase.metadata.create_all(site.engine)
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
                unowned = conn.scalar(sa.select(sa.func.count()).where(TABLE.c.owner_id.is_(None)))
                events = conn.scalar(sa.text("SELECT count(*) FROM kernel_ownership_events WHERE action = 'return'"))
                audited = conn.scalar(sa.text("SELECT count(*) FROM kernel_audit WHERE entity = 'prospects'"))
            assert fired.failed == 0 and unowned == len(due), (fired, unowned, len(due))
            print(f"  run {run + 1}: ours {ours_times[-1]:.2f} s ({fired.fired:,} timers, {fired.batches} batches; {events:,} return events, "
                  f"{audited:,} audit entries so far), hand {hand_times[-1]:.3f} s")
            put_back(site, pool, due, owners, ours=True)
        o, h = statistics.median(ours_times), statistics.median(hand_times)
        print(f"{kind}: {rows:,} held, {len(due):,} due: ours {o:.2f} s ({len(due) / o:,.0f} returns/s), hand {h:.3f} s, "
              f"hand/ours {h / o:.2f} (target >= 0.3)")
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
