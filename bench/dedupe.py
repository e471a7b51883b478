"""Scenario: duplicate detection during a customers import.

```
python -m bench.dedupe                         # SQLite, 5,000 stored customers, 5,000 imported rows (half look-alikes)
python -m bench.dedupe --db postgres --rows 20000
```

Imports ``--rows`` customers (name, phone, email; every second row repeats the
phone of a stored customer) through ``kernel.importing.import_rows`` with
``on_duplicate="skip"`` as a sales rep, into a site holding ``--rows`` customers of
another team: half the file is skipped as look-alikes the rep may not see. The
limit is the same work without detection: the rows that end up written, imported
with ``[plugins.customers] dedupe = false``. It prints the seconds and SELECT
statements of both and limit/ours (1.0: detection costs nothing). Run it with
``PYTHONPATH`` pointing at another checkout to compare two kernels on the same data.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Settings, Site
from kernel.importing import import_rows, read_sheet
from kernel.migrations import upgrade
from kernel.passwords import cheap_hasher

SYSTEM = Actor.system("cli")
POSTGRES = os.environ.get("CRM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def build(url: str, dedupe: bool) -> Site:
    site = Site(Settings(database_url=url, plugins=("customers",), plugin_settings={"customers": {"dedupe": dedupe}}))
    site.passwords = cheap_hasher()
    upgrade(site)
    return site


def people(site: Site) -> tuple[Actor, Actor]:
    actors = []
    for name in ("rep", "other"):
        team = site.records.create(SYSTEM, "teams", {"name": name})
        user = site.records.create(SYSTEM, "users", {"email": f"{name}@example.com", "role": "sales_rep", "team_id": team["id"]})
        actors.append(Actor(user_id=user["id"], label=user["email"], role="sales_rep", team_id=team["id"]))
    return actors[0], actors[1]


def run_once(url: str, rows: int, dedupe: bool) -> dict[str, Any]:
    """Import the file (detection on), or only its rows without a look-alike (detection off)."""
    site = build(url, dedupe)
    rep, other = people(site)
    for start in range(0, rows, 1000):
        batch = [{"name": f"Stored {i}", "phone": f"138{i:08d}", "email": f"s{i}@example.com"} for i in range(start, min(rows, start + 1000))]
        site.records.create_many(other, "customers", batch)
    lines = ["名称,电话,邮箱"] + [
        f"Firm {i},{'138' if i % 2 else '139'}{i:08d},f{i}@example.com" for i in range(rows) if dedupe or i % 2 == 0
    ]
    sheet = read_sheet(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    selects = 0

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal selects
        selects += statement.lstrip()[:6].upper() == "SELECT"

    sa.event.listen(site.engine, "before_cursor_execute", count)
    started = time.perf_counter()
    report = import_rows(site, rep, "customers", sheet, on_duplicate="skip")
    elapsed = time.perf_counter() - started
    sa.event.remove(site.engine, "before_cursor_execute", count)
    site.close()
    return {"seconds": elapsed, "rows": len(lines) - 1, "selects": selects, "imported": report.imported, "skipped": report.skipped_duplicates}


def database(kind: str) -> tuple[str, Any]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench_dedupe_")
        return f"sqlite:///{folder}/crm.db", None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    results = {}
    for dedupe in (True, False):
        url, drop = database(args.db)
        try:
            results[dedupe] = run_once(url, args.rows, dedupe)
        finally:
            if drop:
                drop()
    on, off = results[True], results[False]
    print(f"{args.db}: {args.rows} stored customers of another team; a rep imports a file, half of it look-alikes")
    for label, result in (("ours:  detection on, whole file    ", on), ("limit: detection off, written rows", off)):
        print(
            f"  {label}: {result['rows']:6d} rows {result['seconds']:6.2f} s {result['selects']:6d} SELECTs, "
            f"imported {result['imported']}, skipped {result['skipped']}"
        )
    print(f"  limit/ours (seconds): {off['seconds'] / on['seconds']:.2f}")


if __name__ == "__main__":
    main()
