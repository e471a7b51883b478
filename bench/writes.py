"""Scenario (a): a bulk import through the records service, against raw Core inserts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Site

from .data import batches, core_rows
from .plugin import Deal

IMPORTER = Actor(user_id=None, label="bench import", role="admin", channel="import")


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds, and this process's CPU seconds (steadier on a busy machine; excludes the PostgreSQL server)."""

    wall: float
    cpu: float


@contextmanager
def timing(into: list[Timing]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    into.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))


def insert_through_records(site: Site, deals: list[dict[str, Any]], batch_size: int) -> Timing:
    """Time to create ``deals`` with ``Records.create_many``, one transaction per batch (audit included)."""
    measured: list[Timing] = []
    with timing(measured):
        for batch in batches(deals, batch_size):
            site.records.create_many(IMPORTER, "deals", batch)
    return measured[0]


def insert_with_core(site: Site, deals: list[dict[str, Any]], batch_size: int) -> Timing:
    """Time to insert the same rows with ``insert(table)`` executemany, one transaction per batch."""
    rows = core_rows(deals, site.clock.now())
    table = Deal.__table__
    measured: list[Timing] = []
    with timing(measured):
        for batch in batches(rows, batch_size):
            with site.engine.begin() as conn:
                conn.execute(sa.insert(table), batch)
    return measured[0]
