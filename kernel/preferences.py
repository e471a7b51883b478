"""A user's own choices (their language, say): read and written by that user alone.

Preferences need no entity permission — a sales rep may not edit user records but
may pick a language — and they are not business data, so they are not audited.
Values are JSON; unknown names are refused so a typo cannot store junk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .db import ids_in
from .errors import ValidationError
from .models import Preference
from .settings import LOCALES
from .timezones import ZONE_HINT, is_zone

if TYPE_CHECKING:
    from .site import Site

PREFERENCES = Preference.__table__

#: Every preference there is, with the check its value must pass.
KNOWN: dict[str, tuple[str, Any]] = {
    "locale": ("one of " + ", ".join(LOCALES), lambda value: value in LOCALES),
    "time_zone": (ZONE_HINT, is_zone),
}


def get(site: Site, user_id: int, name: str, default: Any = None, conn: sa.Connection | None = None) -> Any:
    """The user's value for ``name``, or ``default`` when they never chose one."""
    query = sa.select(PREFERENCES.c.value).where(PREFERENCES.c.user_id == user_id, PREFERENCES.c.name == name)
    if conn is not None:
        found = conn.execute(query).first()
    else:
        with site.engine.connect() as own:
            found = own.execute(query).first()
    return default if found is None else found.value


def user_locale(site: Site, user_id: int | None, conn: sa.Connection | None = None) -> str:
    """The language ``user_id`` reads the UI in (their ``locale`` preference), else the site's default:
    the language of a notification or email written for them by a job, which has no request to ask."""
    chosen = get(site, user_id, "locale", conn=conn) if user_id is not None else None
    return chosen if chosen in LOCALES else site.settings.default_locale


def user_locales(site: Site, user_ids: Iterable[int], conn: sa.Connection) -> dict[int, str]:
    """:func:`user_locale` of each of ``user_ids``, read with one query (a job writing to many users)."""
    wanted = sorted(set(user_ids))
    chosen = dict(conn.execute(
        sa.select(PREFERENCES.c.user_id, PREFERENCES.c.value).where(PREFERENCES.c.name == "locale", ids_in(PREFERENCES.c.user_id, wanted, conn.dialect.name))
    ).all()) if wanted else {}
    default = site.settings.default_locale
    return {user_id: chosen[user_id] if chosen.get(user_id) in LOCALES else default for user_id in wanted}


def put(site: Site, user_id: int, name: str, value: Any) -> None:
    """Store the user's choice (one transaction), replacing an earlier one."""
    if name not in KNOWN:
        raise ValidationError.at([name], "is not a preference")
    expected, check = KNOWN[name]
    if not check(value):
        raise ValidationError.at([name], f"must be {expected}")
    now = site.clock.now()
    with site.write() as conn:
        changed = conn.execute(
            sa.update(PREFERENCES)
            .where(PREFERENCES.c.user_id == user_id, PREFERENCES.c.name == name)
            .values(value=value, changed_at=now)
        )
        if changed.rowcount == 0:
            conn.execute(sa.insert(PREFERENCES).values(user_id=user_id, name=name, value=value, changed_at=now))
