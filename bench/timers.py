"""Scenario: per-record timers — 1M armed, 1% due, fired in one pass, against one hand-written UPDATE … RETURNING.

```
python -m bench.timers                                   # SQLite, 1,000,000 records
python -m bench.timers --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
python -m bench.timers --rows 100000 --runs 1            # a quick look
```

``--rows`` held records (``benchtimers_holdings``: an owner, a claim time, and — for the
hand-written side only — an indexed ``return_at`` column) each carry a ``return_at`` timer
in ``kernel_timers``; one in a hundred is due. Loading is setup (Core inserts); arming the
timers goes through ``kernel.arm_timers`` in chunks of 10,000 and its rate is printed.

- **ours**: ``kernel.timers.fire_due`` — batches of ``--batch`` claimed with
  ``DELETE … RETURNING`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), each handed to a
  handler that returns the batch's records to nobody with one ``UPDATE … WHERE id IN
  (…) RETURNING id`` and writes one audit entry per record, one transaction per batch;
- **the limit**: one transaction running ``UPDATE … SET owner_id = NULL … WHERE
  return_at <= now RETURNING id`` on the indexed column, then the same audit entries.

Each run resets the records (and re-arms the fired timers) between the two sides, not
timed; it prints the median wall and CPU seconds (:mod:`bench.cpu`: on PostgreSQL with the
server backends' share) of ``--runs`` interleaved runs and limit/ours, the median of the runs'
ratios, by wall clock and by CPU (target ≥ 0.3).
A PostgreSQL URL gets a fresh schema ``bench_<random>``, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel import Actor, DueTimer, FrozenClock, RecordMixin, Settings, Site, Timer, UTCDateTime, arm_timers, hookimpl
from kernel.audit import entry, write
from kernel.migrations import upgrade
from kernel.timers import fire_due

from .cpu import Comparison, CpuClock, Timing, measured
from .databases import POSTGRES_ENV, fresh_database

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
ENTITY = "holdings"
CHUNK = 10_000


class TimersBase(DeclarativeBase):
    metadata = sa.MetaData()


class Holding(RecordMixin, TimersBase):
    __tablename__ = "benchtimers_holdings"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    return_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)  # the limit's deadline


TABLE = Holding.__table__


def return_holdings(site: Site, conn: sa.Connection, actor: Actor, entity: str, timers: list[DueTimer]) -> None:
    """The handler: the batch's held records go back to nobody, one audit entry each."""
    now = site.clock.now()
    ids = [t.record_id for t in timers]
    returned = conn.scalars(
        sa.update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.owner_id.is_not(None)).values(owner_id=None, returned_at=now).returning(TABLE.c.id)
    ).all()
    write(conn, [entry(actor, now, entity, i, "return", {"reason": "deadline"}) for i in returned])


def hand_written(site: Site) -> int:
    """The limit: one UPDATE … RETURNING over the indexed deadline and the same audit entries, one transaction."""
    now = site.clock.now()
    actor = Actor(user_id=None, label=f"timer {ENTITY}.return_at", role="admin", channel="job")
    with site.write() as conn:
        returned = conn.scalars(
            sa.update(TABLE)
            .where(TABLE.c.return_at <= now, TABLE.c.owner_id.is_not(None))
            .values(owner_id=None, returned_at=now, return_at=None)
            .returning(TABLE.c.id)
        ).all()
        write(conn, [entry(actor, now, ENTITY, i, "return", {"reason": "deadline"}) for i in returned])
    return len(returned)


def make_plugin(batch: int) -> Any:
    class Plugin:
        NAME = "benchtimers"
        REQUIRES: tuple[str, ...] = ()

        @staticmethod
        @hookimpl
        def register_entities() -> list[Any]:
            from pydantic import BaseModel, ConfigDict

            from kernel import Entity

            class Fields(BaseModel):
                model_config = ConfigDict(extra="forbid")
                title: str
                owner_id: int | None = None

            return [Entity(ENTITY, {"en": "Holding", "zh_CN": "持有"}, {"en": "Holdings", "zh_CN": "持有"}, Holding, Fields, owner_field="owner_id")]

        @staticmethod
        @hookimpl
        def register_timers() -> list[Timer]:
            return [Timer("return_at", ENTITY, return_holdings, batch_size=batch)]

    return Plugin


def due_at(i: int) -> datetime:
    """One record in a hundred is an hour overdue; the others are due within the next 42 days."""
    return NOW - timedelta(hours=1) if i % 100 == 0 else NOW + timedelta(hours=1 + i % 1000)


def load(site: Site, rows: int) -> list[int]:
    """``rows`` held records (Core, setup) and their timers (``arm_timers``, timed); the due ids."""
    started = time.perf_counter()
    with site.engine.begin() as conn:
        for start in range(0, rows, CHUNK):
            conn.execute(sa.insert(TABLE), [
                {"title": f"holding {i}", "owner_id": 1 + i % 50, "claimed_at": due_at(i) - timedelta(days=30), "return_at": due_at(i),
                 "created_at": NOW, "updated_at": NOW, "custom": {}}
                for i in range(start, min(rows, start + CHUNK))
            ])
    print(f"  loaded {rows:,} records in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with site.engine.connect() as conn:
        ids = list(conn.scalars(sa.select(TABLE.c.id).order_by(TABLE.c.id)))
    for start in range(0, rows, CHUNK):
        with site.write() as conn:
            part = ids[start : start + CHUNK]
            arm_timers(conn, ENTITY, part, "return_at", [due_at(start + k) for k in range(len(part))])
    seconds = time.perf_counter() - started
    print(f"  armed {rows:,} timers with arm_timers in {seconds:.1f} s ({rows / seconds:,.0f}/s)")
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return [i for k, i in enumerate(ids) if k % 100 == 0]


def reset(site: Site, due: list[int], rearm: bool) -> None:
    with site.write() as conn:
        for start in range(0, len(due), CHUNK):
            part = due[start : start + CHUNK]
            conn.execute(sa.update(TABLE).where(TABLE.c.id.in_(part)).values(owner_id=1, returned_at=None, return_at=NOW - timedelta(hours=1)))
            if rearm:
                arm_timers(conn, ENTITY, part, "return_at", NOW - timedelta(hours=1))


def measure(url: str, rows: int, runs: int, batch: int) -> None:
    site = Site(Settings(database_url=url, plugins=("benchtimers",), refresh_seconds=3600), clock=FrozenClock(NOW), extra_plugins=[make_plugin(batch)])
    upgrade(site)
    TimersBase.metadata.create_all(site.engine)
    due = load(site, rows)
    clock = CpuClock(site.engine)
    ours: list[Timing] = []
    limit: list[Timing] = []
    for run in range(runs):  # interleaved, so both sides meet the same load on a shared machine
        with measured(clock, limit):
            returned = hand_written(site)
        assert returned == len(due), (returned, len(due))
        reset(site, due, rearm=False)
        with measured(clock, ours):
            fired = fire_due(site)
        assert (fired.fired, fired.failed) == (len(due), 0), fired
        with site.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).where(TABLE.c.owner_id.is_(None))) == len(due)
        reset(site, due, rearm=True)
        print(f"  run {run + 1}: ours {ours[-1].wall:.3f} s, CPU {ours[-1].cpu:.3f} s ({fired.batches} batches); "
              f"limit {limit[-1].wall:.3f} s, CPU {limit[-1].cpu:.3f} s")
    result = Comparison(ours, limit)
    o, h = result.median("ours", "wall"), result.median("limit", "wall")
    low, high = result.spread("wall")
    print(f"{site.engine.dialect.name}: {rows:,} armed, {len(due):,} due, batches of {batch}, medians of {runs} runs; CPU: {clock.scope}")
    print(f"  ours {o:.3f} s ({len(due) / o:,.0f} timers/s), CPU {result.median('ours', 'cpu'):.3f} s; "
          f"limit {h:.3f} s ({len(due) / h:,.0f}/s), CPU {result.median('limit', 'cpu'):.3f} s")
    print(f"  limit/ours {result.ratio('wall'):.2f} (runs {low:.2f}–{high:.2f}), by CPU {result.ratio('cpu'):.2f} (target >= 0.3)")
    site.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (a fresh schema is made there); default: a fresh SQLite file")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="timers per handler call (the Timer's batch_size)")
    args = parser.parse_args()
    if args.database_url:
        os.environ[POSTGRES_ENV] = args.database_url
    with fresh_database("postgres" if args.database_url else "sqlite") as url:
        measure(url, args.rows, args.runs, args.batch)


if __name__ == "__main__":
    main()
