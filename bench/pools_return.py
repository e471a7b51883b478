"""Scenario: the pools return job over 1M held records, 1% overdue, against one hand-written UPDATE.

```
python -m bench.pools_return                         # SQLite, 1,000,000 records
python -m bench.pools_return --db postgres           # a fresh PostgreSQL schema ($CRM_BENCH_DATABASE_URL)
python -m bench.pools_return --rows 100000 --runs 1  # a quick look
```

``--rows`` prospects (``bench/pools_plugin.py``) are held by 50 sales reps (a run of a hundred
records each, in turn) from one pool whose follow-up deadline is 7 days; one in a hundred was
assigned 8 days ago (overdue, so every rep has some), the others a day ago. Loading is setup, not timed: the records, the engine's hold rows and holdings counts, and each
record's return timer (``kernel.arm_timers``, as the engine arms it: the assignment + 7 days).

- **ours**: the kernel's timer pass (``kernel.timers.fire_due``) running the engine's return
  handler: due timers claimed in batches (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), each batch's
  records re-read and checked against the pool's rules (level overrides, the closed hook), sent back
  with ``update_many`` and an ownership change — validation, update hooks, one audit entry (its
  outbox event) and one ownership event (pool, rule, reason) per record —, their holds removed, the
  owners' holdings freed, cooldowns started, and each owner notified once per pool;
- **hand**: one ``UPDATE prospects SET owner_id = NULL … WHERE id IN (SELECT record_id FROM
  kernel_timers WHERE entity = 'prospects' AND name = 'pool_return' AND next_at <= now)`` on the timers'
  index — the deadline check and the owner change, nothing else.

Each run puts the returned records back (owners, holds, holdings, timers; not timed) between the two
sides, writes out the dirty pages before each side (``held_returns.settle``: a checkpoint) and prints
both times; at the end the medians and hand/ours (target ≥ 0.3).
"""

from __future__ import annotations

from kernel import FrozenClock, Site
from kernel.migrations import upgrade

from .held_returns import NOW, HeldRecords, main
from .pools_plugin import TABLE, PoolsBase, make_site

HELD_PROSPECTS = HeldRecords(
    entity="prospects", table=TABLE, pool_entity="prospect_pools", target="(target >= 0.3)",
    row=lambda i, pool, owner: {"name": f"prospect {i}", "pool_id": pool, "owner_id": owner, "created_at": NOW, "updated_at": NOW, "custom": {}},
)


def migrated_site(url: str) -> Site:
    site = make_site(url, clock=FrozenClock(NOW), refresh_seconds=3600)
    upgrade(site)
    PoolsBase.metadata.create_all(site.engine)
    return site


if __name__ == "__main__":
    main(__doc__, HELD_PROSPECTS, migrated_site)
