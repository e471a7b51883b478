"""Scenario: import a million customers from another CRM's export, in batches, with dedupe on.

```
python -m bench.import_million                      # SQLite and PostgreSQL, 1,000,000 rows
python -m bench.import_million --rows 100000 --db sqlite
```

Writes a CSV of ``--rows`` customers (name, phone, email, source and five custom fields:
industry code, seats, budget, since, vip) with the headers of a 纷享销客 export (客户名称,
联系电话, …, mapped by the customers plugin's synonyms), then imports it as ``crm import``
does past 5,000 rows: the file streamed row by row (:func:`kernel.filereading.stream_sheet`; its
rows counted in a first pass), :func:`kernel.importjobs.import_in_batches`, batches of ``--batch``
rows, each one transaction with the records, their audit entries, the job's record list and
its checkpoint, duplicate detection on (one look-up per batch). The same rows, as stored
(dedupe keys included), then go into a fresh database with raw SQLAlchemy Core
``conn.execute(insert(table), batch)``, same batch size. It prints rows/s of both, their
ratio (target at least 0.25, audit included), and the process's peak RSS after each part.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Settings, Site, fielddefs
from kernel.filereading import Limits
from kernel.importing import stream_sheet
from kernel.importjobs import hash_file, import_in_batches
from kernel.migrations import upgrade
from kernel.passwords import cheap_hasher
from plugins.customers.normalize import company_key, email_key, phone_key

from .databases import fresh_database

SYSTEM = Actor.system("cli")
FIELDS = (
    ("industry_code", {"type": "string", "maxLength": 10}, ("Industry code", "行业代码")),
    ("seats", {"type": "integer", "minimum": 0}, ("Seats", "席位数")),
    ("budget", {"type": "number", "format": "money"}, ("Budget", "预算")),
    ("since", {"type": "string", "format": "date"}, ("Customer since", "合作日期")),
    ("vip", {"type": "boolean"}, ("VIP", "重点客户")),
)
SOURCES = {"展会": "exhibition", "老客户推荐": "referral", "官网": "website"}  # the file's labels, the stored codes
HEADERS = "客户名称,联系电话,电子邮箱,客户来源,行业代码,席位数,预算,合作日期,重点客户"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row_values(i: int) -> tuple[str, str, str, str, str, int, str, str, bool]:
    return (f"客户{i:07d}贸易有限公司", f"13{i:09d}", f"c{i}@example.com", ("展会", "老客户推荐", "官网")[i % 3],
            f"C{i % 97:03d}", i % 500, f"{i % 100000}.50", f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}", i % 7 == 0)


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(HEADERS + "\r\n")
        for i in range(rows):
            name, phone, email, source, code, seats, budget, since, vip = row_values(i)
            out.write(f"{name},{phone},{email},{source},{code},{seats},{budget},{since},{'是' if vip else '否'}\r\n")


def build(url: str) -> Site:
    site = Site(Settings(database_url=url, plugins=("customers",), refresh_seconds=60))
    site.passwords = cheap_hasher()
    upgrade(site)
    for name, schema, (en, zh) in FIELDS:
        fielddefs.add_field(site, SYSTEM, "customers", name, schema, label={"en": en, "zh_CN": zh})
    return site


def ours(url: str, path: Path, batch: int) -> tuple[float, int]:
    site = build(url)
    sheet = stream_sheet(path, Limits(rows=10_000_000, bytes=2**31, seconds=3600))  # read row by row, as crm import does
    started = time.perf_counter()
    report = import_in_batches(site, SYSTEM, "customers", sheet, filename=str(path), file_hash=hash_file(path), batch_size=batch)
    elapsed = time.perf_counter() - started
    site.close()
    return elapsed, report.imported


def core(url: str, rows: int, batch: int) -> float:
    site = build(url)
    table = site.view.entity("customers").table
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    for start in range(0, rows, batch):
        values = []
        for i in range(start, min(rows, start + batch)):
            name, phone, email, source, code, seats, budget, since, vip = row_values(i)
            values.append({
                "name": name, "kind": "company", "status": "potential", "phone": phone, "email": email, "source": SOURCES[source],
                "custom": {"industry_code": code, "seats": seats, "budget": budget, "since": since, "vip": vip},
                "name_key": company_key(name), "phone_key": phone_key(phone), "email_key": email_key(email),
                "created_at": now, "updated_at": now,
            })
        with site.engine.begin() as conn:
            conn.execute(sa.insert(table), values)
    elapsed = time.perf_counter() - started
    site.close()
    return elapsed


def run(kind: str, rows: int, batch: int, folder: Path) -> dict[str, Any]:
    path = folder / "export.csv"
    if not path.exists():
        write_csv(path, rows)
    with fresh_database(kind) as url:
        seconds, imported = ours(url, path, batch)
    rss_ours = peak_rss_mb()
    with fresh_database(kind) as url:
        raw = core(url, rows, batch)
    return {"seconds": seconds, "imported": imported, "core": raw, "rss": rss_ours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="crm-import-bench-") as folder:
        for kind in kinds:
            result = run(kind, args.rows, args.batch, Path(folder))
            ours_rate, core_rate = result["imported"] / result["seconds"], args.rows / result["core"]
            print(
                f"{kind}: {result['imported']:,} of {args.rows:,} rows imported in {result['seconds']:.1f} s = {ours_rate:,.0f} rows/s; "
                f"raw Core {result['core']:.1f} s = {core_rate:,.0f} rows/s; ours/Core {ours_rate / core_rate:.2f}; "
                f"peak RSS {result['rss']:.0f} MB"
            )


if __name__ == "__main__":
    main()
