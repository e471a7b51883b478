"""Rate limits kept in the database, so every worker process counts against the same limit.

A limit is ``limit`` hits per ``window`` for one key (``"form:contact:203.0.113.9"``).
Windows are fixed: a window starts at a multiple of its length since the epoch, so every
process names the same row ``(key, window_start)`` of ``kernel_rate_counters``. One
``INSERT … ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count`` both counts and
reads, atomically, on SQLite and PostgreSQL alike: two workers hitting the same key at
once get two different counts, never the same one. A hit past the limit is refused with
:class:`~kernel.errors.RateLimited` (429, ``Retry-After`` = seconds until the window ends).

Refused hits are counted too (an attacker's flood does not wear the counter down), but a
window always ends, so waiting always helps. Rows of windows that ended are deleted for the
key being counted.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .errors import RateLimited
from .models import RateCounter

if TYPE_CHECKING:
    from .site import Site

COUNTERS = RateCounter.__table__
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
KEY_MAX = 200


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window of length ``window`` that holds ``now``."""
    seconds = int(window.total_seconds())
    elapsed = int((now - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=elapsed - elapsed % seconds)


def hit(conn: sa.Connection, key: str, limit: int, window: timedelta, now: datetime) -> RateLimited | None:
    """Count one hit for ``key``; past ``limit`` hits in the current window, return the refusal.

    ``conn`` should be a write transaction of its own (:meth:`kernel.Site.write`), committed
    even when the caller then refuses: the hit must stay counted.
    """
    if window.total_seconds() < 1 or limit < 1:
        raise ValueError("a rate limit needs a window of at least one second and a limit of at least 1")
    key = key[:KEY_MAX]
    start = window_start(now, window)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(COUNTERS).values(key=key, window_start=start, count=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=[COUNTERS.c.key, COUNTERS.c.window_start], set_={"count": COUNTERS.c.count + 1}
    ).returning(COUNTERS.c.count)
    count = conn.execute(upsert).scalar_one()
    if count == 1:  # first hit of a window: forget the key's ended windows
        conn.execute(sa.delete(COUNTERS).where(COUNTERS.c.key == key, COUNTERS.c.window_start < start))
    if count <= limit:
        return None
    wait = max(1, math.ceil((start + window - now).total_seconds()))
    error = RateLimited(
        f"too many requests; try again in {wait} seconds",
        [{"loc": ["ip"], "msg": f"at most {limit} requests per {_duration(window)}"}],
    )
    error.retry_after = wait  # type: ignore[attr-defined]  # read by the error handler (Retry-After)
    return error


def rate_limit(site: Site, key: str, limit: int, window: timedelta) -> None:
    """Count one hit for ``key`` in the database; raise :class:`~kernel.errors.RateLimited` (429
    with ``Retry-After``) past ``limit`` hits per ``window``. Every worker process shares the count.

    A public route keys it by what it limits: ``rate_limit(site, f"acme-quote:{actor.ip}", 5, timedelta(hours=1))``.
    """
    with site.write() as conn:
        refused = hit(conn, key, limit, window, site.clock.now())
    if refused is not None:
        raise refused


def _duration(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}" if count != 1 else unit
    return f"{seconds} seconds"
