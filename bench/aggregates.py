"""Scenario: a money sum by month as a sales rep, through ``site.records.aggregate`` vs hand-written SQL.

```
python -m bench.aggregates                          # 1,000,000 rows, SQLite and PostgreSQL
python -m bench.aggregates --rows 100000 --db sqlite
```

Fills a table of ``--rows`` bookings (a Money ``amount``, a ``currency``, a ``booked_at``
moment spread over two years, an owner among 50 sales reps), then times, as one rep
(the record rule ``owner_id = me`` is in the SQL) and as an admin (every row):

* ``site.records.aggregate(actor, "bookings", group_by=["booked_at:month"], measures=["count", "sum:amount"])``
  — months in the site's zone (Asia/Shanghai), split by currency, Decimal sums;
* the same figures from one hand-written statement on the same table and index.

Prints the median of ``--runs`` runs each and ``ratio`` = hand-written ÷ aggregate
(1.0: as fast; the target is ≥ 0.7). The answers are compared, not just timed.
PostgreSQL: ``CRM_BENCH_DATABASE_URL`` (default the local test database).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.databases import fresh_database
from kernel import Actor, Entity, Money, RecordMixin, Settings, Site, UTCDateTime, hookimpl, migrations

NAME = "bench_aggregates"
REQUIRES: tuple[str, ...] = ()
REPS = 50
BATCH = 20_000
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


class AggregatesBase(DeclarativeBase):
    metadata = sa.MetaData()


class Booking(RecordMixin, AggregatesBase):
    __tablename__ = "bench_bookings"
    title: Mapped[str] = mapped_column(sa.String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(sa.String(3))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)


class BookingFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    amount: Decimal
    currency: str
    booked_at: datetime
    owner_id: int | None = None


@hookimpl
def register_entities() -> list[Entity]:
    labels = {"en": "Booking", "zh_CN": "预订"}
    return [Entity("bookings", labels, labels, Booking, BookingFields, owner_field="owner_id")]


def fill(site: Site, rows: int) -> list[Actor]:
    AggregatesBase.metadata.create_all(site.engine)
    system = Actor.system("cli")
    reps = []
    for i in range(REPS):
        user = site.records.create(system, "users", {"email": f"rep{i}@example.cn", "name": f"Rep {i}", "role": "sales_rep"})
        reps.append(Actor(user_id=user["id"], label=user["email"], role="sales_rep"))
    rng = random.Random(14)
    span = int(timedelta(days=730).total_seconds())
    table = Booking.__table__
    now = START
    for first in range(0, rows, BATCH):
        batch = []
        for i in range(first, min(rows, first + BATCH)):
            batch.append(
                {
                    "title": f"b{i}",
                    "amount": Decimal(rng.randrange(1, 10_000_000)).scaleb(-2),
                    "currency": "CNY" if rng.random() < 0.9 else "USD",
                    "booked_at": START + timedelta(seconds=rng.randrange(span)),
                    "owner_id": reps[i % REPS].user_id,
                    "created_at": now,
                    "updated_at": now,
                    "custom": {},
                }
            )
        with site.write() as conn:
            conn.execute(sa.insert(table), batch)
    with site.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE" if site.engine.dialect.name == "sqlite" else f"ANALYZE {table.name}"))
    return reps


def hand_written(dialect: str, owner: int | None) -> sa.TextClause:
    where = "WHERE owner_id = :owner" if owner is not None else ""
    if dialect == "postgresql":
        month = "to_char(date_trunc('month', timezone('Asia/Shanghai', booked_at)), 'YYYY-MM-DD')"
    else:
        month = "strftime('%Y-%m-01', datetime(booked_at, '+28800 seconds'))"
    return sa.text(
        f"SELECT {month} AS m, currency, count(*), sum(amount) FROM bench_bookings {where} GROUP BY m, currency ORDER BY m, currency"
    ).bindparams(**({"owner": owner} if owner is not None else {}))


def median(runs: int, call: Any) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def bench(kind: str, rows: int, runs: int) -> None:
    with fresh_database(kind) as url:
        site = Site(Settings(database_url=url, plugins=(NAME,), refresh_seconds=60), extra_plugins=[sys.modules[__name__]])
        migrations.upgrade(site)
        started = time.perf_counter()
        reps = fill(site, rows)
        print(f"{kind}: {rows:,} rows filled in {time.perf_counter() - started:.1f} s")
        dialect = site.engine.dialect.name
        scale = 1 if dialect == "postgresql" else 100  # SQLite's Money holds minor units
        for who, actor in (("rep", reps[7]), ("admin", Actor.system("cli"))):
            owner = actor.user_id

            def kernel() -> list[tuple[Any, ...]]:
                found = site.records.aggregate(actor, "bookings", group_by=["booked_at:month"], measures=["count", "sum:amount"])
                return [(g["key"], g["currency"], g["count"], g["sum:amount"]) for g in found.groups]

            def by_hand() -> list[tuple[Any, ...]]:
                with site.engine.connect() as conn:
                    found = conn.execute(hand_written(dialect, owner)).all()
                return [(m, c, n, Decimal(s) / scale) for m, c, n, s in found]

            ours, answer = median(runs, kernel)
            theirs, expected = median(runs, by_hand)
            assert answer == expected, (answer[:3], expected[:3])
            print(f"  {who:5} aggregate {ours * 1000:8.1f} ms   hand-written {theirs * 1000:8.1f} ms   ratio {theirs / ours:.2f}   ({len(answer)} groups)")
        site.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        bench(kind, args.rows, args.runs)


if __name__ == "__main__":
    main()
