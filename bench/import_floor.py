"""Scenario: the floor under issue #17's import ratio — the rows an import must write, with raw Core.

```
python -m bench.import_floor                          # SQLite and PostgreSQL, 20,000 rows, 3 runs
python -m bench.import_floor --db sqlite --rows 100000 --runs 1
```

``bench.import_million`` compares our import with raw Core inserts of the customers' rows alone.
But an import writes more than the records: for each row the kernel also writes an audit entry
(which is also the record's outbox event; the issue says "audit included"), a search document
(kept in the record's own transaction: issue #12 asks that "search indexes stay in the write
transaction"; on SQLite two FTS5 indexes take a batch's documents in two ``INSERT … SELECT``, as
:func:`kernel.search.write` gives them, on PostgreSQL a GIN index over its trigrams) and the job's list of the records it created (what ``crm import --undo`` removes).

This bench asks how fast those rows alone can go in. It imports the file once with our import
(not timed), reads back every row the import wrote — the records, their audit entries, their
search documents, the job and its record list —, and then, on a fresh database of the same kind,
times raw Core ``conn.execute(insert(table), batch)`` of exactly those rows, batch by batch, one
transaction per batch: the **floor**, what the import would cost with no Python work at all
(no reading, no validation, no look-alike lookup, no hooks, no document building). Interleaved
with it, the Core arm of ``bench.import_million`` (the records' rows alone). It prints, by wall
clock and by CPU (:mod:`bench.cpu`, the PostgreSQL backends included), Core/floor — the best
ours/Core ratio any import writing those rows could reach — and each table's share of the
floor's CPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kernel import search
from kernel.models import AuditEntry, ImportedRecord, ImportJob, SearchDocument

from .cpu import Comparison, CpuClock, Timing, measured
from .databases import fresh_database
from .import_million import TARGET, build, core, load, ours, write_csv

ENTITY = "customers"


def written_rows(url: str, path: Path, batch: int) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Import ``path`` into a fresh site at ``url`` (not timed) and read back the rows it wrote, per table."""
    _, imported, _ = ours(url, path, batch, api=False)
    site = build_view(url)
    try:
        record_table = site.view.entity(ENTITY).table
        with site.engine.connect() as conn:
            rows = {
                "record": _read(conn, sa.select(record_table).order_by(record_table.c.id)),
                "audit": _read(conn, sa.select(AuditEntry.__table__).where(AuditEntry.__table__.c.entity == ENTITY).order_by("id"), drop="id"),
                "search": _read(conn, sa.select(SearchDocument.__table__).where(SearchDocument.__table__.c.entity == ENTITY).order_by("id"), drop="id"),
                "job": _read(conn, sa.select(ImportJob.__table__)),
                "import records": _read(conn, sa.select(ImportedRecord.__table__).order_by("record_id")),
            }
    finally:
        site.close()
    return rows, imported


def build_view(url: str) -> Any:
    """The already migrated site at ``url`` (its custom fields were added by the import's run)."""
    from kernel import Settings, Site

    return Site(Settings(database_url=url, plugins=("customers",), refresh_seconds=60))


def _read(conn: sa.Connection, query: Any, drop: str | None = None) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != drop} for row in conn.execute(query).mappings()]


def floor(url: str, rows: dict[str, list[dict[str, Any]]], batch: int) -> tuple[Timing, dict[str, float]]:
    """Raw Core inserts of ``rows`` into a fresh site at ``url``, ``batch`` records a transaction:
    each record with its audit entry, search document and import record in the same transaction."""
    site = build(url)
    clock = CpuClock(site.engine)
    tables = {
        "record": site.view.entity(ENTITY).table, "audit": AuditEntry.__table__, "search": SearchDocument.__table__,
        "import records": ImportedRecord.__table__,
    }
    with site.engine.begin() as conn:  # the job the import records point at: one row, not timed
        conn.execute(sa.insert(ImportJob.__table__), rows["job"])
    shares = dict.fromkeys(tables, 0.0)
    sqlite = site.engine.dialect.name == "sqlite"
    into: list[Timing] = []
    count = len(rows["record"])
    with measured(clock, into):
        for start in range(0, count, batch):
            with site.engine.begin() as conn:
                for name, table in tables.items():
                    before = clock()
                    last = conn.scalar(sa.select(sa.func.max(table.c.id))) or 0 if name == "search" and sqlite else None
                    conn.execute(sa.insert(table), rows[name][start : start + batch])
                    if last is not None:  # the FTS5 tables take the batch's documents as search.write gives them
                        search._index_new(conn, last)
                    shares[name] += clock() - before
    site.close()
    return into[0], shares


def run(kind: str, count: int, batch: int, runs: int, folder: Path) -> None:
    path = folder / "export.csv"
    if not path.exists():
        write_csv(path, count)
    with fresh_database(kind) as url:
        rows, imported = written_rows(url, path, batch)
    if imported != count or len(rows["audit"]) != count or len(rows["search"]) != count:
        raise RuntimeError(f"the import wrote {imported:,} records, {len(rows['audit']):,} audit entries and {len(rows['search']):,} documents for {count:,} rows")
    floor_t: list[Timing] = []
    core_t: list[Timing] = []
    for index in range(runs):
        loads = [load()]
        for arm in (("floor", "core") if index % 2 == 0 else ("core", "floor")):
            with fresh_database(kind) as url:
                if arm == "floor":
                    timing, shares = floor(url, rows, batch)
                    floor_t.append(timing)
                else:
                    core_t.append(core(url, count, batch))
            loads.append(load())
        f, c = floor_t[-1], core_t[-1]
        spent = " · ".join(f"{name} {seconds:.2f} s" for name, seconds in shares.items())
        print(
            f"[{kind} run {index + 1}/{runs}] floor {f.wall:.2f} s wall, {f.cpu:.2f} s CPU ({spent}); "
            f"Core {c.wall:.2f} s wall, {c.cpu:.2f} s CPU; Core/floor wall {c.wall / f.wall:.2f}, CPU {c.cpu / f.cpu:.2f}; "
            f"load {' → '.join(loads)}",
            flush=True,
        )
    both = Comparison(floor_t, core_t)
    print(
        f"{kind}: {count:,} rows, {runs} interleaved run(s), medians: Core/floor by wall {both.ratio('wall'):.2f} "
        f"(runs {both.spread('wall')[0]:.2f}–{both.spread('wall')[1]:.2f}), by CPU {both.ratio('cpu'):.2f} "
        f"(runs {both.spread('cpu')[0]:.2f}–{both.spread('cpu')[1]:.2f}): no import writing these rows can reach "
        f"a higher ours/Core (the issue's target ≥ {TARGET})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3, help="interleaved pairs of runs (floor, Core); medians are printed")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crm-import-floor-") as folder:
        for kind in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
            run(kind, args.rows, args.batch, args.runs, Path(folder))
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
