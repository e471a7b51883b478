"""Scenario: lead capture throughput — public-form submissions per second through the submit path,
against a hand-written INSERT of the same leads.

```
python -m bench.leads_capture                         # SQLite, 300 submissions a run, 3 runs
python -m bench.leads_capture --database postgresql   # a fresh schema on CRM_BENCH_DATABASE_URL (or the local test server)
python -m bench.leads_capture --submissions 100 --runs 1
```

A site with ``customers``, ``pools`` and ``leads``, one lead pool and one public form on leads
(name, phone, company, consent) bound to the pool; 2,000 leads already stored (the duplicate check
has something to look through).

- **ours**: each submission is ``POST /public/forms/SLUG`` (JSON) through the in-process ASGI app:
  the origin check, the per-IP limit counted in the database, the form's checks, the write path
  (validation, routing, the pool's hooks, scoring, the duplicate check and the capture log, the
  audit entry, search index) and the consent, one transaction per submission;
- **the limit**: the same leads (source, pool and score precomputed) as one hand-written
  ``INSERT`` per lead into ``leads_leads``, one transaction each.

Interleaved runs; prints submissions/s of each side and limit/ours as the median of the runs'
ratios, by wall clock and by CPU (:mod:`bench.cpu`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import sqlalchemy as sa

from kernel import Actor, FrozenClock, Settings, Site
from kernel.forms import create as create_form
from kernel.migrations import upgrade
from kernel.web.app import create_app

from .cpu import Comparison, CpuClock, Timing, measured
from .databases import fresh_database

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
SYSTEM = Actor.system("bench")
FORM = {"slug": "bench", "entity": "leads", "title": {"en": "Talk to us", "zh_CN": "联系我们"},
        "fields": [{"name": "name"}, {"name": "phone", "required": True}, {"name": "company"}],
        "consent": {"en": "You may call me.", "zh_CN": "同意致电联系。"}, "per_hour": 10_000}


def build(url: str) -> tuple[Site, dict[str, Any]]:
    plugins = [importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pools", "leads")]
    site = Site(Settings(database_url=url, plugins=("customers", "pools", "leads")), clock=FrozenClock(NOW), extra_plugins=plugins)
    upgrade(site)
    pool = site.records.create(SYSTEM, "lead_pools", {"name": "官网线索池"})
    create_form(site, SYSTEM, FORM)
    from plugins.leads.capture import bind_form

    bind_form(site, SYSTEM, "bench", pool["id"])
    site.records.create_many(SYSTEM, "leads", [{"name": f"老线索{i}", "phone": f"+86 21 5{i:07d}", "company": f"老公司{i}"} for i in range(2000)])
    return site, pool


def bodies(run: int, count: int) -> list[dict[str, Any]]:
    return [{"name": f"访客{run}-{i}", "phone": f"139{run:02d}{i:06d}", "company": f"上海测试{run}-{i}有限公司", "consent": True} for i in range(count)]


async def submit_all(app: Any, rows: list[dict[str, Any]], run: int) -> None:
    """Each submission from an address of its own (the public routes also cap requests per IP)."""
    for i, row in enumerate(rows):
        transport = httpx.ASGITransport(app=app, client=(f"10.{run % 250}.{i // 250}.{i % 250 + 1}", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"Origin": "http://testserver"}) as client:
            answer = await client.post("/public/forms/bench", json=row)
        if answer.status_code != 201:
            raise SystemExit(f"submission {i} answered {answer.status_code}: {answer.text}")


def insert_all(site: Site, pool_id: int, rows: list[dict[str, Any]]) -> None:
    leads = site.view.entity("leads").table
    for row in rows:
        with site.engine.begin() as conn:
            conn.execute(sa.insert(leads).values(
                name=row["name"], phone=row["phone"], company=row["company"], source="web_form", pool_id=pool_id, status="new",
                score=35, score_reasons=[], custom={}, created_at=NOW, updated_at=NOW,
            ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with fresh_database(args.database) as url:
        site, pool = build(url)
        app = create_app(site=site)
        clock = CpuClock(site.engine)
        ours: list[Timing] = []
        limit: list[Timing] = []
        for run in range(args.runs):
            rows = bodies(run, args.submissions)
            with measured(clock, ours):
                asyncio.run(submit_all(app, rows, run))
            with measured(clock, limit):
                insert_all(site, pool["id"], bodies(run + 50, args.submissions))
        result = Comparison(ours, limit)
        n = args.submissions
        print(f"lead capture, {args.database}, {n} submissions a run, {args.runs} runs (CPU: {clock.scope})")
        print(f"  ours  (POST /public/forms/…): {n / result.median('ours', 'wall'):8.1f} submissions/s  "
              f"wall {result.median('ours', 'wall'):.2f}s  cpu {result.median('ours', 'cpu'):.2f}s")
        print(f"  limit (hand-written INSERT):  {n / result.median('limit', 'wall'):8.1f} leads/s        "
              f"wall {result.median('limit', 'wall'):.2f}s  cpu {result.median('limit', 'cpu'):.2f}s")
        low, high = result.spread("wall")
        print(f"  limit/ours: wall {result.ratio('wall'):.3f} (runs {low:.3f}-{high:.3f}), cpu {result.ratio('cpu'):.3f}")
        site.close()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"  ({time.perf_counter() - started:.0f}s in all)")
