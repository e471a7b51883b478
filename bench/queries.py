"""Scenario (b): filter and sort on an indexed custom field, against a native indexed column."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Site

from .data import VALUE_RANGE, core_rows, deal_inputs
from .plugin import INDEXED_FIELD, Deal

READER = Actor(user_id=None, label="bench reader", role="admin", channel="api")
PAGE = 50


def bulk_load(site: Site, count: int, *, seed: int, batch_size: int = 10_000) -> None:
    """Add ``count`` deals with raw Core (setup, not measured), then refresh the planner's statistics."""
    table = Deal.__table__
    now = site.clock.now()
    for start in range(0, count, batch_size):
        rows = core_rows(deal_inputs(min(batch_size, count - start), seed=seed + start), now)
        with site.engine.begin() as conn:
            conn.execute(sa.insert(table), rows)
    analyze(site)


def analyze(site: Site) -> None:
    with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE bench_deals" if conn.dialect.name == "postgresql" else "ANALYZE")


def median_ms(call: Callable[[], Any], runs: int) -> float:
    call()  # warm caches and compiled statements
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def query_calls(site: Site, selectivity: float) -> dict[str, Callable[[], Any]]:
    """Ways to ask for the top page of deals above a threshold: with the total (as the API does) or the page alone."""
    threshold = int(VALUE_RANGE * (1 - selectivity))
    table = Deal.__table__
    custom = {"filters": {f"{INDEXED_FIELD}__gte": threshold}, "sort": f"-{INDEXED_FIELD}", "limit": PAGE}
    native = {"filters": {"priority__gte": threshold}, "sort": "-priority", "limit": PAGE}

    def page_only(params: dict[str, Any]) -> Callable[[], Any]:
        def run() -> Any:
            with site.engine.connect() as conn:
                return conn.execute(site.records.list_query(READER, "deals", **params)).all()

        return run

    def core() -> Any:
        matching = table.c.priority >= threshold
        with site.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(matching).order_by(table.c.priority.desc(), table.c.id.desc()).limit(PAGE))
            items = [dict(row._mapping) for row in rows]
            total = conn.execute(sa.select(sa.func.count()).select_from(table).where(matching)).scalar_one()
        return items, total

    return {
        "custom": lambda: site.records.list(READER, "deals", **custom),
        "native": lambda: site.records.list(READER, "deals", **native),
        "custom_page": page_only(custom),
        "native_page": page_only(native),
        "core": core,
    }


def check_same_answer(calls: dict[str, Callable[[], Any]]) -> None:
    """The custom-field query and the native one must agree on how many deals match."""
    custom, native = calls["custom"](), calls["native"]()
    if custom.total != native.total or len(custom.items) != len(native.items):
        raise AssertionError(f"custom field found {custom.total} deals, the native column {native.total}")
