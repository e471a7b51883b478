"""The demo: 25 opportunities over the demo customers in varied stages, with a history of moves at
different times, a few won, lost and invalid, a few rotting; seeding twice changes nothing."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from kernel import state_events_table
from kernel.testing import seed_demo

from ..rotting import rotting_ids
from .support import SYSTEM


def test_the_demo_seeds_a_pipeline_history_once(site):
    clock = site.clock
    seed_demo(site)
    assert site.clock is clock  # the replayed clock was put back
    seed_demo(site)
    deals = site.records.list(SYSTEM, "opportunities", limit=100).items
    assert len(deals) == 25
    outcomes = Counter(d["outcome"] for d in deals)
    assert outcomes["won"] == 3 and outcomes["lost"] == 3 and outcomes["invalid"] == 1 and outcomes["open"] == 18
    assert len({d["stage"] for d in deals}) >= 7 and len({d["owner_id"] for d in deals}) >= 2
    events = state_events_table()
    with site.engine.connect() as conn:
        times = conn.execute(sa.select(events.c.at, events.c.seconds).where(events.c.entity == "opportunities")).all()
    assert len(times) > 60 and len({t.at for t in times}) > 0.9 * len(times)  # moves spread over months
    assert all(t.seconds is None or t.seconds > 3600 for t in times)
    assert 1 <= len(rotting_ids(site, SYSTEM)) <= 6
