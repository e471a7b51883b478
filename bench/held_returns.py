"""The return scenario the pools engine's benches share: held records, 1% overdue, returned by the
kernel's timer pass (ours) or by one hand-written UPDATE (hand).

A :class:`HeldRecords` names what differs between them (the entity, its table and pool entity, a row,
the values a return sets); :func:`measure` loads, runs both sides interleaved and prints the figures;
:func:`main` is a bench's command line.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Site, UTCDateTime, arm_timers
from kernel.timers import fire_due
from plugins.pools.models import COOLDOWNS, HOLDINGS, HOLDS
from plugins.pools.returns import RETURN

from .databases import bench_arguments, on_each_database

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
SYSTEM = Actor.system("cli")
CHUNK = 10_000
REPS = 50
FOLLOWUP_DAYS = 7
TIMERS = sa.table("kernel_timers", sa.column("entity"), sa.column("record_id"), sa.column("name"), sa.column("next_at", UTCDateTime()))


@dataclass(frozen=True)
class HeldRecords:
    """One entity the pools engine holds: ``row(i, pool_id, owner_id)`` is the ``i``-th record to insert;
    a return sets ``owner_id`` to NULL and ``returned``; putting a record back sets its owner and ``held``."""

    entity: str
    table: sa.Table
    pool_entity: str
    row: Callable[[int, int, int], dict[str, Any]]
    returned: dict[str, Any] = field(default_factory=dict)
    held: dict[str, Any] = field(default_factory=dict)
    target: str = ""  # printed after hand/ours, e.g. "(target >= 0.3)"


def holder(i: int) -> int:
    """Which of the reps holds the ``i``-th record: a run of a hundred each, so the overdue records (one in
    each hundred) are spread over all the reps, as a night's returns are (one notification each)."""
    return (i // 100) % REPS


def assigned_at(i: int) -> datetime:
    """One record in a hundred was assigned 8 days ago (overdue by a day); the others yesterday."""
    return NOW - timedelta(days=8) if i % 100 == 0 else NOW - timedelta(days=1)


def load(site: Site, kind: HeldRecords, rows: int) -> tuple[int, list[int], list[int]]:
    """The pool, its reps and ``rows`` held records with their holds, holdings and return timers;
    the pool's id, the due ids and their owners."""
    team = site.records.create(SYSTEM, "teams", {"name": "Bench"})
    reps = [site.records.create(SYSTEM, "users", {"email": f"rep{i}@bench.example", "name": f"Rep {i}", "role": "sales_rep", "team_id": team["id"]})["id"]
            for i in range(REPS)]
    pool = site.records.create(SYSTEM, kind.pool_entity, {"name": "Bench pool", "member_ids": reps, "followup_days": FOLLOWUP_DAYS})["id"]
    started = time.perf_counter()
    with site.engine.begin() as conn:
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(kind.table), [kind.row(i, pool, reps[holder(i)]) for i in range(start, min(rows, start + CHUNK))])
        ids = list(conn.scalars(sa.select(kind.table.c.id).order_by(kind.table.c.id)))
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(HOLDS), [
                {"entity": kind.entity, "record_id": ids[k], "pool_id": pool, "user_id": reps[holder(k)], "assigned_at": assigned_at(k), "counted": True}
                for k in range(start, min(rows, start + CHUNK))
            ])
        held = collections.Counter(holder(k) for k in range(rows))
        conn.execute(sa.insert(HOLDINGS), [{"entity": kind.entity, "pool_id": pool, "user_id": rep, "held": held[k]}
                                           for k, rep in enumerate(reps)])
    print(f"  loaded {rows:,} held {kind.entity} and their holds in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        with site.write() as conn:
            part = ids[start : start + CHUNK]
            arm_timers(conn, kind.entity, part, RETURN, [assigned_at(start + k) + timedelta(days=FOLLOWUP_DAYS) for k in range(len(part))])
    print(f"  armed {rows:,} return timers in {time.perf_counter() - started:.1f} s")
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")
    due = list(range(0, rows, 100))
    return pool, [ids[k] for k in due], [reps[holder(k)] for k in due]


def settle(site: Site) -> None:
    """Write out what the setup left dirty before a side is timed, so neither pays for the other's pages:
    a ``CHECKPOINT`` on PostgreSQL (a superuser's, or ``pg_checkpoint``'s); on SQLite the WAL copied into
    the database file and started over (``RESTART``: the file is kept, as a running server's is).

    Until 2026-12-03 a side could start during PostgreSQL's checkpoint of the million-row load or of the
    put-back (the hand's UPDATE ranged 0.25–1.3 s on one database), and the hand rewrote pages the
    put-back had just dirtied: no full-page images in PostgreSQL's WAL, which a real night's first change
    to a page since the last checkpoint writes (its records were last changed days before)."""
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT" if conn.dialect.name == "postgresql" else "PRAGMA wal_checkpoint(RESTART)")


def hand(site: Site, kind: HeldRecords) -> tuple[float, int]:
    """One UPDATE returning every record whose return timer is due; its seconds and rows."""
    started = time.perf_counter()
    with site.write() as conn:
        due = sa.select(TIMERS.c.record_id).where(TIMERS.c.entity == kind.entity, TIMERS.c.name == RETURN, TIMERS.c.next_at <= NOW)
        values = {"owner_id": None, **kind.returned, "updated_at": NOW}
        changed = conn.execute(sa.update(kind.table).where(kind.table.c.id.in_(due)).values(**values)).rowcount
    return time.perf_counter() - started, changed


def put_back(site: Site, kind: HeldRecords, pool: int, due: list[int], owners: list[int], *, ours: bool) -> None:
    """The due records held again as before (not timed); after ours, also their holds, holdings, cooldowns and timers."""
    with site.write() as conn:
        for start in range(0, len(due), CHUNK):
            part, whose = due[start : start + CHUNK], owners[start : start + CHUNK]
            for owner in sorted(set(whose)):
                mine = [i for i, o in zip(part, whose) if o == owner]
                conn.execute(sa.update(kind.table).where(kind.table.c.id.in_(mine)).values(owner_id=owner, **kind.held))
                if ours:
                    conn.execute(sa.update(HOLDINGS).where(HOLDINGS.c.entity == kind.entity, HOLDINGS.c.pool_id == pool, HOLDINGS.c.user_id == owner)
                                 .values(held=HOLDINGS.c.held + len(mine)))
            if ours:
                conn.execute(sa.delete(HOLDS).where(HOLDS.c.entity == kind.entity, HOLDS.c.record_id.in_(part)))
                conn.execute(sa.insert(HOLDS), [{"entity": kind.entity, "record_id": i, "pool_id": pool, "user_id": o,
                                                 "assigned_at": NOW - timedelta(days=8), "counted": True} for i, o in zip(part, whose)])
                conn.execute(sa.delete(COOLDOWNS).where(COOLDOWNS.c.entity == kind.entity, COOLDOWNS.c.record_id.in_(part)))
                arm_timers(conn, kind.entity, part, RETURN, NOW - timedelta(days=1))


def returned_count(site: Site, kind: HeldRecords) -> int:
    """How many records stand as a return leaves them (no owner, and ``returned``)."""
    table = kind.table
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).where(table.c.owner_id.is_(None), *[table.c[k] == v for k, v in kind.returned.items()]))


def measure(label: str, site: Site, kind: HeldRecords, rows: int, runs: int) -> None:
    """Load ``rows`` held records on the migrated ``site``, then run hand and ours interleaved ``runs``
    times, putting the returned records back between; print each run and the medians."""
    pool, due, owners = load(site, kind, rows)
    ours_times, hand_times = [], []
    for run in range(runs):
        settle(site)
        seconds, changed = hand(site, kind)
        assert changed == len(due), (changed, len(due))
        hand_times.append(seconds)
        put_back(site, kind, pool, due, owners, ours=False)
        settle(site)
        started = time.perf_counter()
        fired = fire_due(site)
        ours_times.append(time.perf_counter() - started)
        back = returned_count(site, kind)
        assert fired.failed == 0 and back == len(due), (fired, back, len(due))
        with site.engine.connect() as conn:
            events = conn.scalar(sa.text("SELECT count(*) FROM kernel_ownership_events WHERE action = 'return'"))
        print(f"  run {run + 1}: ours {ours_times[-1]:.2f} s ({fired.fired:,} timers, {fired.batches} batches; {events:,} return events so far), "
              f"hand {hand_times[-1]:.3f} s")
        put_back(site, kind, pool, due, owners, ours=True)
    o, h = statistics.median(ours_times), statistics.median(hand_times)
    print(f"{label}: {rows:,} held {kind.entity}, {len(due):,} due: ours {o:.2f} s ({len(due) / o:,.0f} returns/s), hand {h:.3f} s, "
          f"hand/ours {h / o:.2f} {kind.target}".rstrip())


def main(doc: str, kind: HeldRecords, migrated_site: Callable[[str], Site]) -> None:
    """The command line of a bench of ``kind``: ``migrated_site(url)`` opens the site to measure on."""

    def run(label: str, url: str, args: argparse.Namespace) -> None:
        site = migrated_site(url)
        try:
            measure(label, site, kind, args.rows, args.runs)
        finally:
            site.close()

    on_each_database(bench_arguments(doc, rows=1_000_000, runs=3), run)
