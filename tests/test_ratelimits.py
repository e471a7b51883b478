"""Rate limits in the database (kernel.ratelimits): atomic counts that every worker shares."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kernel import rate_limit
from kernel.errors import RateLimited
from kernel.ratelimits import COUNTERS, hit, window_start
from tests.example import plugin as notes_plugin

HOUR = timedelta(hours=1)


def test_windows_are_fixed_and_shared(clock):
    start = window_start(clock.now(), HOUR)
    assert start == window_start(start + timedelta(minutes=59, seconds=59), HOUR) and start.minute == 0 and start.second == 0


def test_the_limit_refuses_then_the_next_window_allows_again(make_site, clock):
    site = make_site(notes_plugin)
    rate_limit(site, "k", 2, HOUR)
    clock.advance(timedelta(minutes=20))
    rate_limit(site, "k", 2, HOUR)
    with pytest.raises(RateLimited) as refused:
        rate_limit(site, "k", 2, HOUR)
    assert refused.value.retry_after == int((window_start(clock.now(), HOUR) + HOUR - clock.now()).total_seconds())
    rate_limit(site, "other", 2, HOUR)  # keys are counted apart
    clock.advance(HOUR)
    rate_limit(site, "k", 2, HOUR)


def test_concurrent_hits_from_two_workers_get_distinct_counts(make_site, clock):
    """Two Site objects (two engines, as two processes would have) hit one key from 8 threads at once."""
    sites = [make_site(notes_plugin), make_site(notes_plugin)]
    counts: list[int] = []
    refusals: list[RateLimited] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(index: int) -> None:
        site = sites[index % 2]
        barrier.wait()
        for _ in range(5):
            with site.write() as conn:
                refused = hit(conn, "form:x:1.2.3.4", 30, HOUR, clock.now())
                count = conn.scalar(sa.select(COUNTERS.c.count).where(COUNTERS.c.key == "form:x:1.2.3.4"))
            with lock:
                counts.append(count)
                if refused is not None:
                    refusals.append(refused)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 41))  # every hit saw its own count: none lost, none shared
    assert len(refusals) == 10  # exactly the hits past 30
