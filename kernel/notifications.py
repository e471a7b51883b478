"""In-app notifications: short messages for one user, shown until they are read.

Plugins create them inside their own transaction with :func:`notify` (a
reminder, an assignment); the UI and API list them with :func:`list_notifications`
and mark them read with :func:`mark_read`. Every function takes the user's id,
so a user only ever sees and changes their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .errors import ValidationError
from .models import Notification

if TYPE_CHECKING:
    from .site import Site

NOTIFICATIONS = Notification.__table__
TITLE_LENGTH = 200
LINK_LENGTH = 500
MAX_LIMIT = 200


def notify(site: Site, conn: sa.Connection, user_id: int, title: str, body: str = "", link: str | None = None) -> int:
    """Queue a notification for ``user_id`` in the caller's transaction; returns its id.

    ``title`` is cut to 200 characters; ``link`` is a path in the app (``/tasks/7``).
    """
    values = _row(site, user_id, title, body, link)
    return int(conn.execute(sa.insert(NOTIFICATIONS).values(values).returning(NOTIFICATIONS.c.id)).scalar_one())


def notify_many(site: Site, conn: sa.Connection, messages: Iterable[Mapping[str, Any]]) -> int:
    """Queue several notifications in the caller's transaction with one statement (a job telling each
    owner of a batch's records, say); returns how many. Each message is a mapping with ``user_id`` and
    ``title``, and optionally ``body`` and ``link``, checked as :func:`notify` checks them (one bad
    message: :class:`ValidationError` naming it by its place, nothing queued)."""
    rows = []
    for index, message in enumerate(messages):
        try:
            rows.append(_row(site, message.get("user_id"), message.get("title") or "", message.get("body") or "", message.get("link")))
        except ValidationError as exc:
            raise ValidationError(f"message {index}: {exc.message}", [{**d, "loc": [index, *d["loc"]]} for d in exc.details]) from None
    if rows:  # one executemany: one round trip on PostgreSQL (psycopg's pipeline), no bound-parameter limit
        conn.execute(sa.insert(NOTIFICATIONS), rows)
    return len(rows)


def _row(site: Site, user_id: Any, title: str, body: str, link: str | None) -> dict[str, Any]:
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id < 1:
        raise ValidationError.at(["user_id"], "must be a user id")
    if not title or not title.strip():
        raise ValidationError.at(["title"], "must not be empty")
    if link is not None and len(link) > LINK_LENGTH:
        raise ValidationError.at(["link"], f"must be at most {LINK_LENGTH} characters")
    return {"user_id": user_id, "title": title.strip()[:TITLE_LENGTH], "body": body, "link": link, "created_at": site.clock.now()}


def list_notifications(site: Site, user_id: int, *, unread_only: bool = False, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """A user's notifications, newest first, with the number still unread."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.at(["query", "limit"], f"must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationError.at(["query", "offset"], "must be 0 or more")
    mine = NOTIFICATIONS.c.user_id == user_id
    query = sa.select(NOTIFICATIONS).where(mine)
    if unread_only:
        query = query.where(NOTIFICATIONS.c.read_at.is_(None))
    with site.engine.connect() as conn:
        items = [dict(row._mapping) for row in conn.execute(query.order_by(NOTIFICATIONS.c.id.desc()).limit(limit).offset(offset))]
        unread = conn.scalar(sa.select(sa.func.count()).select_from(NOTIFICATIONS).where(mine, NOTIFICATIONS.c.read_at.is_(None)))
    return {"items": items, "unread": unread, "limit": limit, "offset": offset}


def mark_read(site: Site, user_id: int, ids: list[int] | None = None) -> int:
    """Mark ``ids`` (all of the user's, when ``None``) read; returns how many changed.

    Ids of other users' notifications are ignored.
    """
    condition = sa.and_(NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None))
    if ids is not None:
        condition = sa.and_(condition, NOTIFICATIONS.c.id.in_(ids))
    with site.write() as conn:
        result = conn.execute(sa.update(NOTIFICATIONS).where(condition).values(read_at=site.clock.now()))
    return int(result.rowcount)


def unread_count(site: Site, user_id: int) -> int:
    with site.engine.connect() as conn:
        count = conn.scalar(
            sa.select(sa.func.count()).select_from(NOTIFICATIONS).where(NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None))
        )
    return int(count or 0)
