"""Time zones: the site's, each user's, and local dates computed in them.

Every moment is stored in UTC. What a person calls a day — "today", "this month",
the month a record falls in on a chart — depends on where they are: the site has a
time zone (the ``time_zone`` setting, default ``Asia/Shanghai``, editable by an admin
at run time) and a user may choose their own (the ``time_zone`` preference).
:func:`user_zone` is the user's choice, else the site's.

"N days" rules in the kernel mean N×24 hours from a moment (a deadline is
``moment + timedelta(days=N)``); a rule that means calendar days works on
:func:`local_date` / :func:`day_start` in the site's zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import as_utc

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .site import Site

DEFAULT_ZONE = "Asia/Shanghai"
#: IANA names are letters, digits and ``_+-/``; anything else is refused before the tz database is asked.
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")
ZONE_HINT = "an IANA time zone name such as Asia/Shanghai or UTC"


def is_zone(name: object) -> bool:
    """Whether ``name`` is an IANA time zone name this server knows."""
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.match(name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The zone called ``name``; a ``ValueError`` naming what is expected for an unknown one."""
    if not is_zone(name):
        raise ValueError(f"{name!r} is not {ZONE_HINT}")
    return ZoneInfo(name)


def site_zone(site: Site) -> ZoneInfo:
    """The site's time zone (the ``time_zone`` setting)."""
    return zone(site.settings.time_zone)


def user_zone(site: Site, user_id: int | None, conn: sa.Connection | None = None) -> ZoneInfo:
    """The zone ``user_id`` chose (the ``time_zone`` preference), else the site's."""
    from . import preferences

    chosen = preferences.get(site, user_id, "time_zone", conn=conn) if user_id is not None else None
    return zone(chosen) if is_zone(chosen) else site_zone(site)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of ``moment`` (naive: UTC) in ``tz``."""
    return as_utc(moment).astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) of ``day`` in ``tz``; the day ends at ``day_start(day + 1 day)``."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def today(site: Site, user_id: int | None = None) -> date:
    """Today's date by the site's clock, in ``user_id``'s zone (the site's without a user)."""
    tz = user_zone(site, user_id) if user_id is not None else site_zone(site)
    return local_date(site.clock.now(), tz)


def offsets(tz: ZoneInfo, first_year: int = 2000, last_year: int = 2060) -> tuple[timedelta, list[tuple[datetime, timedelta]]]:
    """``tz``'s UTC offset at the start of ``first_year`` and each later change (UTC moment, new offset)
    up to ``last_year``: what a database without a time-zone database needs to shift moments."""
    return _offsets(tz.key, first_year, last_year)


@lru_cache(maxsize=32)
def _offsets(name: str, first_year: int, last_year: int) -> tuple[timedelta, list[tuple[datetime, timedelta]]]:
    tz = zone(name)

    def at(moment: datetime) -> timedelta:
        return moment.astimezone(tz).utcoffset() or timedelta(0)

    start = datetime(first_year, 1, 1, tzinfo=timezone.utc)
    first, changes = at(start), []
    months = [datetime(year, month, 1, tzinfo=timezone.utc) for year in range(first_year, last_year + 1) for month in range(1, 13)]
    for low, high in zip(months, months[1:]):
        if at(low) == at(high):
            continue
        while high - low > timedelta(seconds=1):  # the first second of the new offset
            middle = low + (high - low) / 2
            middle = middle.replace(microsecond=0)
            if at(middle) == at(low):
                low = middle
            else:
                high = middle
        changes.append((high, at(high)))
    return first, changes
