"""Scenario: one change to 100k records with ``Records.update_many``, against a hand-written UPDATE.

```
python -m bench.update_many                                   # SQLite and PostgreSQL, 100k rows, 5 runs
python -m bench.update_many --db sqlite --rows 20000          # a quick look
python -m bench.update_many --db postgres --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
```

``--rows`` deals (the bench plugin's ``deals``, five custom values each) are loaded
with raw Core, all in stage ``new``. Then, ``--runs`` times each, alternating:

- **ours**: ``site.records.update_many(admin, "deals", where={"stage": "new"},
  changes={"stage": "won"})`` — validation per record, the ``authorize`` and update
  hooks, the UPDATE, one audit entry (which is the record's outbox event) per record, one transaction;
- **hand**: ``UPDATE bench_deals SET stage = 'won', updated_at = :now WHERE stage = 'new'``
  in one transaction (no audit, no event);

with the rows put back to ``new`` between runs (not measured). It prints the median
seconds of each side, wall and CPU (:mod:`bench.cpu`: on PostgreSQL with the server
backends' share), the statements ours sent, and hand/ours as the median of the runs' ratios,
by wall clock (with the runs' spread) and by CPU (the target is ≥ 0.3).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kernel import Actor, Site
from kernel.outbox import events_query

from .cpu import Comparison, CpuClock, Timing, measured
from .data import batches, core_rows, deal_inputs
from .databases import bench_arguments, on_each_database
from .plugin import Deal
from .run import build_site

ADMIN = Actor(user_id=None, label="bench", role="admin", channel="job")
DEALS = Deal.__table__


def load(site: Site, rows: int) -> None:
    now = site.clock.now()
    for batch in batches(core_rows(deal_inputs(rows, seed=7), now), 5000):
        with site.engine.begin() as conn:
            conn.execute(sa.insert(DEALS), [{**row, "stage": "new"} for row in batch])
    with site.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def reset(site: Site) -> None:
    with site.engine.begin() as conn:
        conn.execute(sa.update(DEALS).values(stage="new"))


def ours(site: Site, rows: int, clock: CpuClock, into: list[Timing]) -> int:
    statements = 0

    def count(*args: Any) -> None:
        nonlocal statements
        statements += 1

    sa.event.listen(site.engine, "before_cursor_execute", count)
    with measured(clock, into):
        changed = site.records.update_many(ADMIN, "deals", where={"stage": "new"}, changes={"stage": "won"})
    sa.event.remove(site.engine, "before_cursor_execute", count)
    assert len(changed) == rows, (len(changed), rows)
    return statements


def hand(site: Site, rows: int, clock: CpuClock, into: list[Timing]) -> None:
    with measured(clock, into):
        with site.engine.begin() as conn:
            changed = conn.execute(sa.update(DEALS).where(DEALS.c.stage == "new").values(stage="won", updated_at=site.clock.now()))
    assert changed.rowcount == rows, (changed.rowcount, rows)


def run(kind: str, url: str, rows: int, runs: int) -> None:
    site = build_site(url)
    try:
        load(site, rows)
        clock = CpuClock(site.engine)
        ours_runs: list[Timing] = []
        hand_runs: list[Timing] = []
        statements = 0
        for _ in range(runs):  # interleaved, so both sides meet the same load on a shared machine
            hand(site, rows, clock, hand_runs)
            reset(site)
            statements = ours(site, rows, clock, ours_runs)
            reset(site)
        with site.engine.connect() as conn:
            events = conn.scalar(sa.select(sa.func.count()).select_from(events_query().subquery()))
            audited = conn.scalar(sa.text("SELECT count(*) FROM kernel_audit WHERE action = 'update'"))
        result = Comparison(ours_runs, hand_runs)
        o, h = result.median("ours", "wall"), result.median("limit", "wall")
        low, high = result.spread("wall")
        print(f"{kind}: update_many of {rows:,} rows, {runs} interleaved runs, medians; CPU: {clock.scope}")
        print(f"  ours: {o:6.2f} s  ({rows / o:9,.0f} rows/s, {statements} statements; {audited:,} audit entries, {events:,} events in all)"
              f"  CPU {result.median('ours', 'cpu'):.2f} s")
        print(f"  hand: {h:6.2f} s  ({rows / h:9,.0f} rows/s, one UPDATE)  CPU {result.median('limit', 'cpu'):.2f} s")
        print(f"  hand/ours: {result.ratio('wall'):.2f} (runs {low:.2f}–{high:.2f}), by CPU {result.ratio('cpu'):.2f}  (target >= 0.3)")
    finally:
        site.close()


def main() -> None:
    on_each_database(bench_arguments(__doc__, db="both", rows=100_000, runs=5), lambda kind, url, args: run(kind, url, args.rows, args.runs))


if __name__ == "__main__":
    main()
