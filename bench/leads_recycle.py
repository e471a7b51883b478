"""Scenario: the leads' recycle job over 1M held leads, 1% overdue, against one hand-written UPDATE.

```
python -m bench.leads_recycle                         # SQLite, 1,000,000 leads
python -m bench.leads_recycle --db postgres           # a fresh PostgreSQL schema ($CRM_BENCH_DATABASE_URL)
python -m bench.leads_recycle --rows 100000 --runs 3  # under load
```

The real plugins (``customers``, ``pools``, ``leads``): ``--rows`` leads held by 50 reps (a run of a hundred
each, in turn) from one lead pool whose follow-up deadline is 7 days; one in a hundred was assigned 8 days
ago (overdue, so every rep has some), the others a day ago. Loading is setup, not timed: the leads, the engine's hold rows and holdings counts, and each
lead's return timer (as the engine arms it: the assignment + 7 days).

- **ours**: the kernel's timer pass (what ``crm jobs run`` / the worker runs) with the pools engine's
  return handler on leads: due timers claimed in batches, each batch re-checked (still owned, not
  converted — the leads' ``pools_closed_ids`` —, past its deadline), sent back with ``update_many`` and
  an ownership change — validation, the leads' update hooks (an ``assigned`` lead becomes ``new``),
  the state event of that move, one audit entry and one ownership event per lead —, holds removed,
  holdings freed, cooldowns started, each owner notified once;
- **hand**: one ``UPDATE leads_leads SET owner_id = NULL, status = 'new' … WHERE id IN (SELECT record_id
  FROM kernel_timers WHERE … next_at <= now)`` — the deadline check and the owner change, nothing else.

The two sides run interleaved ``--runs`` times (the returned leads put back between, not timed); the
medians and hand/ours are printed at the end.
"""

from __future__ import annotations

import importlib

from kernel import FrozenClock, Settings, Site
from kernel.migrations import upgrade
from plugins.leads.models import LEADS

from .held_returns import NOW, HeldRecords, main

HELD_LEADS = HeldRecords(
    entity="leads", table=LEADS, pool_entity="lead_pools", returned={"status": "new"}, held={"status": "assigned"},
    row=lambda i, pool, owner: {"name": f"线索 {i}", "company": f"公司 {i}", "pool_id": pool, "owner_id": owner, "status": "assigned",
                                "score": 0, "score_reasons": [], "created_at": NOW, "updated_at": NOW, "custom": {}},
)


def migrated_site(url: str) -> Site:
    plugins = [importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pools", "leads")]
    site = Site(Settings(database_url=url, plugins=("customers", "pools", "leads"), refresh_seconds=3600), clock=FrozenClock(NOW),
                extra_plugins=plugins)
    upgrade(site)
    return site


if __name__ == "__main__":
    main(__doc__, HELD_LEADS, migrated_site)
