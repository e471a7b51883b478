"""One command for the first scenario: ``python -m bench [--db sqlite|postgres|both]``.

(a) insert ``--rows`` deals with five custom fields through the records service,
    in batches as an import would, and the same rows with raw Core executemany;
(b) top up the table to ``--query-rows`` with raw Core (setup, not measured) and
    time filter + sort on the indexed custom field against the native indexed
    column: the page alone (the SELECT ``Records.list`` runs), the page with its
    total (``Records.list``), and the native query in raw Core.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from kernel import Actor, Site, migrations
from kernel.fielddefs import add_field
from kernel.settings import Settings

from . import plugin
from .data import deal_inputs
from .databases import fresh_database
from .plugin import CUSTOM_FIELDS, INDEXED_FIELD, BenchBase
from .queries import bulk_load, check_same_answer, median_ms, query_calls
from .writes import insert_through_records, insert_with_core

WRITE_TARGET = 0.25  # records service throughput / Core throughput, at least
QUERY_TARGET = 2.0  # custom-field query time / native-column query time, at most


@dataclass
class Result:
    database: str
    measure: str
    value: str
    ratio: str = ""


def build_site(url: str) -> Site:
    site = Site(Settings(database_url=url, plugins=(plugin.NAME,)), extra_plugins=[plugin])
    migrations.upgrade(site)
    BenchBase.metadata.create_all(site.engine)
    admin = Actor.system("cli")
    for name, schema in CUSTOM_FIELDS.items():
        add_field(site, admin, "deals", name, schema, indexed=name == INDEXED_FIELD)
    return site


def run_database(kind: str, args: argparse.Namespace) -> list[Result]:
    results = []
    with fresh_database(kind) as url:
        site = build_site(url)
        try:
            core = insert_with_core(site, deal_inputs(args.rows, seed=1), args.batch)
            ours = insert_through_records(site, deal_inputs(args.rows, seed=2), args.batch)
            write_ratio = core.wall / ours.wall
            verdict = "ok" if write_ratio >= WRITE_TARGET else f"below {WRITE_TARGET}"
            results += [
                Result(kind, f"write {args.rows:,} rows: records service", f"{args.rows / ours.wall:,.0f} rec/s", f"{write_ratio:.2f} of Core ({verdict})"),
                Result(kind, f"write {args.rows:,} rows: Core executemany", f"{args.rows / core.wall:,.0f} rec/s"),
                Result(kind, "write: records service, CPU of this process", f"{ours.cpu:.1f} s", f"{core.cpu / ours.cpu:.2f} of Core"),
                Result(kind, "write: Core executemany, CPU of this process", f"{core.cpu:.1f} s"),
            ]
            print(f"[{kind}] writes done; loading to {args.query_rows:,} rows", flush=True)
            bulk_load(site, max(0, args.query_rows - 2 * args.rows), seed=3)
            calls = query_calls(site, args.selectivity)
            check_same_answer(calls)
            timings = {name: median_ms(call, args.runs) for name, call in calls.items()}
            page_ratio = timings["custom_page"] / timings["native_page"]
            verdict = "ok" if page_ratio <= QUERY_TARGET else f"above {QUERY_TARGET}"
            where = f"{args.query_rows:,} rows, top {args.selectivity:.0%}"
            results += [
                Result(kind, f"query {where}: custom field, page", f"{timings['custom_page']:.2f} ms", f"{page_ratio:.2f}x native ({verdict})"),
                Result(kind, f"query {where}: native column, page", f"{timings['native_page']:.2f} ms"),
                Result(kind, f"query {where}: custom field, Records.list", f"{timings['custom']:.2f} ms", f"{timings['custom'] / timings['native']:.2f}x native"),
                Result(kind, f"query {where}: native column, Records.list", f"{timings['native']:.2f} ms", f"{timings['native'] / timings['core']:.2f}x Core"),
                Result(kind, f"query {where}: native column, Core", f"{timings['core']:.2f} ms"),
            ]
        finally:
            site.close()
    return results


def print_table(results: list[Result]) -> None:
    headers = Result("database", "measure", "value", "ratio")
    widths = [max(len(getattr(r, col)) for r in [headers, *results]) for col in ("database", "measure", "value")]
    for r in [headers, *results]:
        print(f"{r.database:<{widths[0]}}  {r.measure:<{widths[1]}}  {r.value:>{widths[2]}}  {r.ratio}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows", type=int, default=100_000, help="rows written by each side in (a) (default 100,000)")
    parser.add_argument("--batch", type=int, default=1_000, help="rows per create_many / executemany (default 1,000)")
    parser.add_argument("--query-rows", type=int, default=1_000_000, help="table size for (b) (default 1,000,000)")
    parser.add_argument("--selectivity", type=float, default=0.01, help="share of rows the filter matches (default 0.01)")
    parser.add_argument("--runs", type=int, default=30, help="timed repetitions of each query (default 30)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    results = [result for kind in kinds for result in run_database(kind, args)]
    print_table(results)
