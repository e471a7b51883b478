"""Scenario: ``q`` on a large customer list, and capped totals, against hand-written SQL.

``python -m bench.search [--db sqlite|postgres|both] [--rows N] [--runs N]``

Loads ``--rows`` customers (default 1,000,000) of the ``customers`` plugin with
raw Core inserts (setup, not measured), builds their search documents in bulk
(``kernel.search.rebuild``, timed and printed), then asks for the first page of
matches as a sales rep (record rules in the SQL) through ``site.records.list``
— the ranked page and its total — for queries of 1, 2 and 3+ characters,
Chinese and digits. The limit is the same query (``count(*) OVER ()`` for the
total, the bounded count only when the page is empty) written by hand as SQL
text over the same tables and indexes (same join, rules, index condition and
ranking), run on one connection. It prints median milliseconds
and limit/ours (1.0: ours costs nothing extra).

On PostgreSQL it also times the plain list (no ``q``, as an admin, so the count
covers every row) with the capped total against the same list with an exact
``count(*)`` (``exact_total=True``).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Settings, Site, migrations
from kernel import search

from .databases import fresh_database
from .queries import median_ms

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "娜伟芳敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文"
WORDS = ["科技", "贸易", "实业", "网络", "物流", "食品", "医药", "建材", "传媒", "教育"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "苏州", "西安"]
REPS = 50
PAGE = 50
#: (label, q): 1, 2 and 3+ characters, Chinese and digits.
QUERIES = [
    ("1 CJK char", "李"),
    ("2 CJK chars (a name)", "李娜"),
    ("4 CJK chars", "科技有限"),
    ("2 digits (prefix)", "13"),
    ("4 digits (substring)", "8000"),
    ("7 digits (substring)", "0013800"),
]
REP = Actor(user_id=7, label="bench rep", role="sales_rep", team_id=1, channel="api")
ADMIN = Actor(user_id=None, label="bench admin", role="admin", channel="api")


def customer_rows(start: int, count: int, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for i in range(start, start + count):
        person = SURNAMES[rng.randrange(len(SURNAMES))] + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 1, 2))))
        if i % 2:
            name = f"{rng.choice(CITIES)}{person}{rng.choice(WORDS)}有限公司"
        else:
            name = person
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        rows.append({
            "name": name, "kind": "company" if i % 2 else "individual", "status": "potential",
            "owner_id": 1 + rng.randrange(REPS), "team_id": 1 + rng.randrange(5),
            "shared_user_ids": [], "shared_team_ids": [], "tags": [], "phones": [], "emails": [],
            "phone": phone, "email": f"user{i}@mail{i % 97}.example.com", "churn_flag": False,
            "custom": {}, "created_at": now, "updated_at": now,
        })
    return rows


def load(site: Site, rows: int, *, batch: int = 10_000, documents: bool = True) -> float:
    """Insert ``rows`` customers with Core, then build their search documents; returns the build's seconds."""
    table = site.view.entities["customers"].table
    rng = random.Random(9)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for start in range(0, rows, batch):
        with site.engine.begin() as conn:
            conn.execute(sa.insert(table), customer_rows(start, min(batch, rows - start), rng, now))
    started = time.perf_counter()
    if documents:
        search.rebuild(site)
    built = time.perf_counter() - started
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")
    return built


def hand_written(site: Site, q: str) -> tuple[str, str, dict[str, Any]]:
    """The page and the capped count for a rep's search, as SQL text (same rules, index and ranking)."""
    terms = search.terms(q)
    word = terms[0].text
    like = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params: dict[str, Any] = {"me": REP.user_id, "team": REP.team_id, "whole": word, "prefix": like + "%", "inside": "%" + like + "%",
                              "line": "%\n" + like + "%", "cap": site.settings.count_cap + 1}
    postgres = site.engine.dialect.name == "postgresql"
    if postgres:
        tokens = [word] if terms[0].short else sorted(search.trigrams([word]))
        params["tokens"] = tokens
        matched = "s.tokens @> %(tokens)s::text[]" + ("" if terms[0].short else " AND s.body LIKE %(inside)s")
        p = lambda name: f"%({name})s"  # noqa: E731
    else:
        table = search.FTS_WORDS if terms[0].short else search.FTS_TRIGRAM
        params["match"] = '"' + word + '"'
        matched = f"s.id IN (SELECT rowid FROM {table} WHERE {table} MATCH :match)"
        p = lambda name: f":{name}"  # noqa: E731
    rules = (
        f"(c.owner_id = {p('me')} OR c.id IN (SELECT customer_id FROM customers_shares "
        f"WHERE (kind = 'user' AND target_id = {p('me')}) OR (kind = 'team' AND target_id = {p('team')})))"
    )
    source = f"FROM customers_customers c JOIN kernel_search s ON s.entity = 'customers' AND s.record_id = c.id WHERE {rules} AND {matched}"
    rank = (
        f"CASE WHEN s.title = {p('whole')} THEN 0 WHEN s.title LIKE {p('prefix')} THEN 1 WHEN s.title LIKE {p('inside')} THEN 2 "
        f"WHEN ('\n' || s.body) LIKE {p('line')} THEN 3 ELSE 4 END"
    )
    page = f"SELECT c.*, count(*) OVER () AS matches {source} ORDER BY {rank}, c.id LIMIT {PAGE}"
    count = f"SELECT count(*) FROM (SELECT 1 {source} LIMIT {p('cap')}) AS matching"
    return page, count, params


def run_queries(site: Site, runs: int) -> None:
    print(f"  {'query':<24}{'q':<10}{'matches(rep)':>13}{'ours ms':>10}{'limit ms':>10}{'limit/ours':>12}")
    for label, q in QUERIES:
        page_sql, count_sql, params = hand_written(site, q)
        postgres = site.engine.dialect.name == "postgresql"

        def limit() -> Any:
            with site.engine.connect() as conn:
                run = (lambda sql: conn.exec_driver_sql(sql, params)) if postgres else (lambda sql: conn.execute(sa.text(sql), params))
                rows = run(page_sql).all()
                total = rows[0].matches if rows else run(count_sql).scalar_one()
            return [r.id for r in rows], total

        def ours() -> Any:
            result = site.records.list(REP, "customers", q=q, limit=PAGE)
            return [r["id"] for r in result.items], result.total

        mine, theirs = ours(), limit()
        if mine != theirs:
            raise AssertionError(f"{q!r}: ours found {mine[1]} / {mine[0][:5]}, the hand-written query {theirs[1]} / {theirs[0][:5]}")
        ours_ms, limit_ms = median_ms(ours, runs), median_ms(limit, runs)
        print(f"  {label:<24}{q:<10}{mine[1]:>13}{ours_ms:>10.1f}{limit_ms:>10.1f}{limit_ms / ours_ms:>12.2f}")


def run_totals(site: Site, runs: int) -> None:
    capped = lambda: site.records.list(ADMIN, "customers", limit=PAGE)  # noqa: E731
    exact = lambda: site.records.list(ADMIN, "customers", limit=PAGE, exact_total=True)  # noqa: E731
    page = capped()
    capped_ms, exact_ms = median_ms(capped, runs), median_ms(exact, runs)
    print(f"  list as admin, capped total ({page.total}, exact={page.total_exact}): {capped_ms:.1f} ms; "
          f"exact count ({exact().total}): {exact_ms:.1f} ms; exact/capped time {exact_ms / capped_ms:.1f}x")


def bench(kind: str, rows: int, runs: int, *, totals_only: bool = False) -> None:
    with fresh_database(kind) as url:
        site = Site(Settings(database_url=url, plugins=("customers",), refresh_seconds=3600))
        try:
            migrations.upgrade(site)
            started = time.perf_counter()
            built = load(site, rows, documents=not totals_only)
            print(f"{kind}: {rows:,} customers loaded in {time.perf_counter() - started:.0f} s", end="")
            if totals_only:
                print(" (no search documents)")
            else:
                print(f" (search documents built in bulk in {built:.0f} s, {rows / built:,.0f} records/s)")
                run_queries(site, runs)
            if kind == "postgres":
                run_totals(site, runs)
        finally:
            site.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--totals-only", action="store_true", help="PostgreSQL list totals only: no search documents, no q")
    args = parser.parse_args(argv)
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        bench(kind, args.rows, args.runs, totals_only=args.totals_only)


if __name__ == "__main__":
    main()
