"""Scenario: the stage funnel over 1M opportunities with 5M state events, against one hand-written statement.

```
python -m bench.pipeline_funnel                          # 1,000,000 opportunities, 5,000,000 events, SQLite and PostgreSQL
python -m bench.pipeline_funnel --rows 100000 --db sqlite
```

Fills, with set-based ``INSERT … SELECT`` statements, ``--rows`` opportunities of the default
pipeline (企业销售) and five state events each (created in inquiry, then needs, quote, evaluation,
and a fifth move: on to negotiation, won, or lost), each with a time in the previous stage
spread over 0–3 days. Then times, interleaved, ``--runs`` times each, as an admin (every row):

* ``plugins.pipeline.funnel.funnel`` — the stage table, time in stage with median, outcomes,
  money and lost reasons (four statements);
* ONE hand-written statement computing the same stage table (entered, moved on, lost, average
  and median time in stage).

Prints the median of each and ``ratio`` = hand-written ÷ funnel (1.0: as fast; the target is ≥ 0.5).
The stage tables are compared, not just timed. PostgreSQL: ``CRM_BENCH_DATABASE_URL`` (default the
local test database).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bench.databases import fresh_database
from kernel import Actor, Settings, Site, migrations
from plugins.pipeline.funnel import FunnelQuery, funnel

START = datetime(2025, 1, 1, tzinfo=timezone.utc)
SYSTEM = Actor.system("cli")
#: The fifth move of opportunity n, by n % 3.
FIFTH = ("negotiation", "won", "lost")


def _sequence(dialect: str, rows: int) -> str:
    if dialect == "postgresql":
        return f"SELECT generate_series(1, {rows})::bigint AS n"  # bigint: n * 7919 passes int4 past 271,000 rows
    return f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {rows}) SELECT n FROM seq"


def fill(site: Site, rows: int) -> int:
    """The opportunities and their events, set-based; returns the pipeline's id."""
    pipeline = site.records.create(SYSTEM, "pipelines", {"name": "Bench", "is_default": True})
    pid = int(pipeline["id"])
    customer = site.records.create(SYSTEM, "customers", {"name": "Bench customer", "kind": "company"})
    dialect = site.engine.dialect.name
    pg = dialect == "postgresql"
    at = "TIMESTAMPTZ '2025-01-01 00:00:00+00' + n * INTERVAL '30 seconds' + k * INTERVAL '1 hour'" if pg else \
        "strftime('%Y-%m-%d %H:%M:%f', '2025-01-01 00:00:00', '+' || (n * 30 + k * 3600) || ' seconds')"
    created = "TIMESTAMPTZ '2025-01-01 00:00:00+00' + n * INTERVAL '30 seconds'" if pg else \
        "strftime('%Y-%m-%d %H:%M:%f', '2025-01-01 00:00:00', '+' || (n * 30) || ' seconds')"
    amount = "(n % 1000) * 100 + 0.5" if pg else "((n % 1000) * 100 * 100 + 50)"  # SQLite's Money holds cents
    stage = "CASE n % 3 WHEN 0 THEN 'negotiation' WHEN 1 THEN 'won' ELSE 'lost' END"
    outcome = "CASE n % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'won' ELSE 'lost' END"
    json_empty = "'[]'::jsonb" if pg else "'[]'"
    obj_empty = "'{}'::jsonb" if pg else "'{}'"
    with site.engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO pipeline_opportunities (id, name, customer_id, contact_ids, pipeline_id, stage, amount, currency, probability, "
            f"competitor_notes, outcome, lost_reason, created_at, updated_at, custom) "
            f"SELECT n + 1000, 'deal ' || n, {customer['id']}, {json_empty}, {pid}, {stage}, {amount}, 'CNY', 50, '', {outcome}, "
            f"CASE WHEN n % 3 = 2 THEN 'price' END, {created}, {created}, {obj_empty} FROM ({_sequence(dialect, rows)}) AS seq"
        ))
        moves = ("SELECT 0 AS k, NULL AS f, 'inquiry' AS t UNION ALL SELECT 1, 'inquiry', 'needs' UNION ALL SELECT 2, 'needs', 'quote' "
                 "UNION ALL SELECT 3, 'quote', 'evaluation' UNION ALL SELECT 4, 'evaluation', '*'")
        to_state = f"CASE WHEN m.t = '*' THEN {stage} ELSE m.t END"
        kind = f"CASE WHEN m.t = '*' AND n % 3 = 1 THEN 'won' WHEN m.t = '*' AND n % 3 = 2 THEN 'lost' ELSE 'open' END"
        seconds = "CASE WHEN k = 0 THEN NULL ELSE (n * 7919 + k * 104729) % 259200 END"
        snapshot = ("jsonb_build_object('amount', ((n % 1000) * 100 + 0.5)::text, 'currency', 'CNY')" if pg
                    else "json_object('amount', printf('%d.50', (n % 1000) * 100), 'currency', 'CNY')")
        conn.execute(sa.text(
            f"INSERT INTO kernel_state_events (entity, record_id, set_key, from_state, to_state, kind, actor_id, actor, at, seconds, snapshot) "
            f"SELECT 'opportunities', n + 1000, '{pid}', m.f, {to_state}, {kind}, NULL, 'bench', {at.replace('k *', 'm.k *')}, "
            f"{seconds.replace('k = 0', 'm.k = 0').replace('k * 104729', 'm.k * 104729')}, {snapshot} "
            f"FROM ({_sequence(dialect, rows)}) AS seq CROSS JOIN ({moves}) AS m"
        ))
        conn.execute(sa.text("ANALYZE"))
    return pid


def hand_written(dialect: str, pid: int) -> sa.TextClause:
    """The stage table in one statement: per stage entered, moved on, lost, stays, average and median seconds."""
    rank = ("CASE {c} WHEN 'inquiry' THEN 1 WHEN 'needs' THEN 2 WHEN 'quote' THEN 3 WHEN 'evaluation' THEN 4 "
            "WHEN 'negotiation' THEN 5 WHEN 'won' THEN 6 ELSE 0 END")
    median = ("percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)" if dialect == "postgresql"
              else "avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN seconds END)")
    ranked = ("" if dialect == "postgresql" else
              ", row_number() OVER (PARTITION BY from_state ORDER BY seconds) AS rn, count(*) OVER (PARTITION BY from_state) AS n")
    return sa.text(f"""
        WITH ev AS (SELECT id, record_id, from_state, to_state, kind, seconds FROM kernel_state_events
                    WHERE entity = 'opportunities' AND set_key = '{pid}'),
        per AS (
            SELECT record_id, stage, min(entry) AS first_in, max(fwd) AS last_fwd, max(lost) AS last_lost FROM (
                SELECT record_id, to_state AS stage, id AS entry, NULL AS fwd, NULL AS lost FROM ev
                UNION ALL
                SELECT record_id, from_state, NULL,
                       CASE WHEN {rank.format(c='to_state')} > {rank.format(c='from_state')} THEN id END,
                       CASE WHEN kind IN ('lost', 'closed') THEN id END
                FROM ev WHERE from_state IS NOT NULL
            ) AS marks GROUP BY record_id, stage),
        counts AS (SELECT stage, count(first_in) AS entered, count(CASE WHEN last_fwd > first_in THEN 1 END) AS moved_on,
                          count(CASE WHEN last_lost > first_in THEN 1 END) AS lost FROM per GROUP BY stage),
        stays AS (SELECT from_state AS stage, seconds{ranked} FROM ev WHERE from_state IS NOT NULL AND seconds IS NOT NULL),
        times AS (SELECT stage, count(*) AS stays, avg(seconds) AS avg_seconds, {median} AS median_seconds FROM stays GROUP BY stage)
        SELECT counts.stage, entered, moved_on, lost, times.stays, times.avg_seconds, times.median_seconds
        FROM counts LEFT JOIN times ON times.stage = counts.stage ORDER BY counts.stage
    """)


def _seconds(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


def bench(kind: str, rows: int, runs: int) -> None:
    with fresh_database(kind) as url:
        site = Site(Settings(database_url=url, plugins=("customers", "pipeline"), refresh_seconds=60))
        migrations.upgrade(site)
        started = time.perf_counter()
        pid = fill(site, rows)
        with site.engine.connect() as conn:
            events = conn.scalar(sa.text("SELECT count(*) FROM kernel_state_events WHERE entity = 'opportunities'"))
        print(f"{kind}: {rows:,} opportunities and {events:,} events filled in {time.perf_counter() - started:.1f} s")
        dialect = site.engine.dialect.name

        def ours() -> dict[str, tuple[Any, ...]]:
            found = funnel(site, SYSTEM, FunnelQuery(pid))
            return {r["key"]: (r["entered"], r["stays"], r["avg_seconds"], r["median_seconds"]) for r in found["stages"] if r["entered"] or r["stays"]}

        def theirs() -> dict[str, tuple[Any, ...]]:
            with site.engine.connect() as conn:
                found = conn.execute(hand_written(dialect, pid)).all()
            return {r.stage: (r.entered, r.stays or 0, _seconds(r.avg_seconds), _seconds(r.median_seconds)) for r in found}

        timings: dict[str, list[float]] = {"ours": [], "theirs": []}
        answers: dict[str, Any] = {}
        for _ in range(runs):  # interleaved: the machine's load falls on both arms alike
            for name, call in (("ours", ours), ("theirs", theirs)):
                begin = time.perf_counter()
                answers[name] = call()
                timings[name].append(time.perf_counter() - begin)
        assert answers["ours"] == answers["theirs"], (answers["ours"], answers["theirs"])
        mine, hand = statistics.median(timings["ours"]), statistics.median(timings["theirs"])
        print(f"{kind}: funnel {mine:.2f} s, hand-written {hand:.2f} s (median of {runs}), ratio {hand / mine:.2f} (target >= 0.5)")
        site.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="opportunities (five state events each)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    options = parser.parse_args()
    for kind in ("sqlite", "postgresql") if options.db == "both" else (options.db,):
        bench(kind, options.rows, options.runs)


if __name__ == "__main__":
    main()
