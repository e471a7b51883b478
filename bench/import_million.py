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
``conn.execute(insert(table), batch)``, same batch size. The two arms run interleaved
(``--runs`` pairs, the order alternating), each on a fresh database of the same kind, timed by wall
clock and by CPU (:mod:`bench.cpu`). While each arm runs, :mod:`bench.import_api` serves the app from
another process on the same database and times reads and logins (``--no-api`` to skip): both arms
share the machine with it alike, and the latencies printed are those of our arm. It prints,
per run and as medians: rows/s of both, their ratio by wall and by CPU (target at least 0.25, audit
included), the process's peak RSS (target under 300 MB), the API's p99s and the load averages.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
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

from .cpu import Comparison, CpuClock, Timing, measured
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
TARGET = 0.25
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


def ours(url: str, path: Path, batch: int, api: bool) -> tuple[Timing, int, dict[str, Any] | None]:
    """Our import of ``path`` into a fresh site; with ``api``, the API timed from another process meanwhile."""
    site = build(url)
    clock = CpuClock(site.engine)
    server = _start_api(url) if api else None
    into: list[Timing] = []
    try:
        with measured(clock, into):  # the file's hash and its counting pass included, as crm import does them
            sheet = stream_sheet(path, Limits(rows=10_000_000, bytes=2**31, seconds=3600))  # read row by row
            report = import_in_batches(site, SYSTEM, "customers", sheet, filename=str(path), file_hash=hash_file(path), batch_size=batch)
    finally:
        latencies = _stop_api(server) if server is not None else None
        site.close()
    return into[0], report.imported, latencies


def core(url: str, rows: int, batch: int, api: bool) -> Timing:
    """The same rows, as stored (dedupe keys included), with raw Core ``insert(table)`` batches: only the
    inserts are timed. Until 2026-12-02 (fifth pass) each batch's values — the dedupe keys, with a phone
    parse per row — were made inside the timing too, so making our phone parsing faster sped up Core's arm.

    With ``api`` the API is served and its clients run meanwhile, as during ours (their latencies are
    not reported): until 2026-12-03 (tenth session) only our arm shared the 2 cores with the API's
    process (argon2 logins, reads), so only ours paid for sharing them."""
    site = build(url)
    clock = CpuClock(site.engine)
    table = site.view.entity("customers").table
    now = datetime.now(timezone.utc)
    into: list[Timing] = []
    server = _start_api(url) if api else None
    try:
        for start in range(0, rows, batch):
            values = []
            for i in range(start, min(rows, start + batch)):
                name, phone, email, source, code, seats, budget, since, vip = row_values(i)
                values.append({
                    "name": name, "kind": "company", "status": "potential", "phone": "+86" + phone, "email": email, "source": SOURCES[source],
                    "custom": {"industry_code": code, "seats": seats, "budget": budget, "since": since, "vip": vip},
                    "name_key": company_key(name), "phone_key": phone_key(phone), "email_key": email_key(email),
                    "created_at": now, "updated_at": now,
                })
            with measured(clock, into), site.engine.begin() as conn:
                conn.execute(sa.insert(table), values)
    finally:
        if server is not None:
            _stop_api(server)
        site.close()
    return Timing(sum(t.wall for t in into), sum(t.cpu for t in into))


def _start_api(url: str) -> subprocess.Popen[str]:
    """The app served from its own process on ``url``'s database, its clients timing reads and logins (:mod:`bench.import_api`)."""
    server = subprocess.Popen([sys.executable, "-m", "bench.import_api", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    if line.strip() != "ready":
        server.kill()
        raise RuntimeError(f"the API process did not start (it said {line!r})")
    return server


def _stop_api(server: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = server.communicate("stop\n", timeout=300)
    return json.loads(out.strip().splitlines()[-1])


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank), in the values' unit; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def load() -> str:
    """The machine's load averages (1, 5, 15 min), as ``uptime`` shows them: what else ran meanwhile."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def run(kind: str, rows: int, batch: int, runs: int, api: bool, folder: Path) -> None:
    """``runs`` interleaved pairs (ours first, then Core first, …), each arm on a fresh database of ``kind``."""
    path = folder / "export.csv"
    if not path.exists():
        write_csv(path, rows)
    ours_t: list[Timing] = []
    core_t: list[Timing] = []
    for index in range(runs):
        loads = [load()]
        for arm in (("ours", "core") if index % 2 == 0 else ("core", "ours")):
            with fresh_database(kind) as url:
                if arm == "ours":
                    timing, imported, latencies = ours(url, path, batch, api)
                    if imported != rows:
                        raise RuntimeError(f"{imported:,} of {rows:,} rows imported: the bench's data must import whole")
                    ours_t.append(timing)
                else:
                    core_t.append(core(url, rows, batch, api))
            loads.append(load())
        o, c = ours_t[-1], core_t[-1]
        line = (
            f"[{kind} run {index + 1}/{runs}] ours {o.wall:.1f} s wall, {o.cpu:.1f} s CPU = {rows / o.wall:,.0f} rows/s; "
            f"Core {c.wall:.1f} s wall, {c.cpu:.1f} s CPU = {rows / c.wall:,.0f} rows/s; ratio wall {c.wall / o.wall:.2f}, CPU {c.cpu / o.cpu:.2f}; "
            f"peak RSS {peak_rss_mb():.0f} MB; load {' → '.join(loads)}"
        )
        if latencies is not None:
            line += (
                f"; API during the import: reads p99 {p99(latencies['reads']):.0f} ms (n={len(latencies['reads'])}, max {max(latencies['reads'] or [0]):.0f}), "
                f"logins p99 {p99(latencies['logins']):.0f} ms (n={len(latencies['logins'])}, max {max(latencies['logins'] or [0]):.0f})"
                + (f", errors {latencies['errors']}" if latencies["errors"] else "")
            )
        print(line, flush=True)
    both = Comparison(ours_t, core_t)
    print(
        f"{kind}: {rows:,} rows, {runs} interleaved run(s), medians: ours {rows / both.median('ours', 'wall'):,.0f} rows/s, "
        f"Core {rows / both.median('limit', 'wall'):,.0f} rows/s; ours/Core by wall {both.ratio('wall'):.2f} "
        f"(runs {both.spread('wall')[0]:.2f}–{both.spread('wall')[1]:.2f}), by CPU {both.ratio('cpu'):.2f} "
        f"(runs {both.spread('cpu')[0]:.2f}–{both.spread('cpu')[1]:.2f}; target ≥ {TARGET}); peak RSS {peak_rss_mb():.0f} MB (limit 300)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=1, help="interleaved pairs of runs (ours, Core); medians are printed")
    parser.add_argument("--no-api", dest="api", action="store_false", help="do not serve and time the API during our import")
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="crm-import-bench-") as folder:
        for kind in kinds:
            run(kind, args.rows, args.batch, args.runs, args.api, Path(folder))


if __name__ == "__main__":
    main()
