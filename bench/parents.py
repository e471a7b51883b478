"""Scenario: what reading a customer's follow-ups costs a sales rep, now that they are visible through their parent.

```
python -m bench.parents                          # SQLite: 20 reps, 2,000 customers, 20,000 follow-ups
python -m bench.parents --db postgres --customers 5000
```

Twenty reps in two teams each own ``--customers / 20`` customers (one in ten shared with a
colleague) and log ten follow-ups on each (inserted with Core: setup, not measured). It then
times, as one rep, a page of 50 follow-ups with its exact total (``site.records.list``, what
the API list does) and one follow-up by id (one the rep logged on a colleague's customer, so
both kernels find it), and the same as an admin (no record rules): the
printed ratio rep/admin is what the rules cost. Run it with ``PYTHONPATH`` pointing at another
checkout to compare two kernels on the same data (the rep also sees fewer rows there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Settings, Site
from kernel.migrations import upgrade
from kernel.passwords import cheap_hasher

SYSTEM = Actor.system("cli")
ADMIN = Actor(user_id=None, label="bench admin", role="admin", channel="api")
POSTGRES = os.environ.get("CRM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPS = 20


def build(url: str, customers: int) -> tuple[Site, Actor, int]:
    site = Site(Settings(database_url=url, plugins=("customers",), refresh_seconds=3600))
    site.passwords = cheap_hasher()
    upgrade(site)
    reps = []
    for t in range(2):
        team = site.records.create(SYSTEM, "teams", {"name": f"team {t}"})
        for r in range(REPS // 2):
            user = site.records.create(SYSTEM, "users", {"email": f"rep{t}-{r}@example.com", "role": "sales_rep", "team_id": team["id"]})
            reps.append(Actor(user_id=user["id"], label=user["email"], role="sales_rep", team_id=team["id"]))
    tables = {name: site.view.entity(name).table for name in ("customers", "followups")}
    shares = site.view.entity("customers").table.metadata.tables["customers_shares"]
    now = site.clock.now()
    rows = []
    for i in range(customers):
        owner = reps[i % REPS]
        rows.append({"name": f"Customer {i}", "kind": "company", "owner_id": owner.user_id, "team_id": owner.team_id,
                     "created_at": now, "updated_at": now, "custom": {}})
    with site.engine.begin() as conn:
        conn.execute(sa.insert(tables["customers"]), rows)
        ids = list(conn.scalars(sa.select(tables["customers"].c.id).order_by(tables["customers"].c.id)))
        conn.execute(sa.insert(shares), [{"customer_id": cid, "kind": "user", "target_id": reps[(i + 1) % REPS].user_id}
                                         for i, cid in enumerate(ids) if i % 10 == 0])
        followups = [{"customer_id": cid, "method": "call", "content": f"note {j}", "followed_at": now,
                      "owner_id": reps[(i + j) % REPS].user_id, "created_at": now, "updated_at": now, "custom": {}}
                     for i, cid in enumerate(ids) for j in range(10)]
        for start in range(0, len(followups), 5000):
            conn.execute(sa.insert(tables["followups"]), followups[start:start + 5000])
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    with site.engine.connect() as conn:
        some = conn.scalar(sa.select(tables["followups"].c.id).where(tables["followups"].c.owner_id == reps[0].user_id,
                                                                   tables["followups"].c.customer_id != ids[0]))
    return site, reps[0], some


def median_ms(call: Callable[[], Any], runs: int) -> float:
    call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(url: str, customers: int, runs: int) -> None:
    site, rep, one = build(url, customers)
    for label, actor in (("rep", rep), ("admin", ADMIN)):
        page = median_ms(lambda a=actor: site.records.list(a, "followups", limit=50, sort="-id", exact_total=True), runs)
        get = median_ms(lambda a=actor: site.records.get(a, "followups", one), runs)
        total = site.records.list(actor, "followups", limit=1, exact_total=True).total
        print(f"{label:6} sees {total:>7} follow-ups   list page + total {page:8.2f} ms   get by id {get:7.2f} ms")
        if label == "rep":
            rep_page, rep_get = page, get
    print(f"ratio rep/admin: list {rep_page / page:.2f}  get {rep_get / get:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            measure(f"sqlite:///{folder}/bench.db", args.customers, args.runs)
        return
    schema = f"bench_parents_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        measure(str(sa.make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})), args.customers, args.runs)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
