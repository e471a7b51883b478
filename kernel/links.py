"""Signed links: a URL token that lets someone without an account do one thing to one record.

"Follow your request", "rate us", "unsubscribe", "verify your email": a plugin signs
a token for a *purpose* and a record, puts it in a URL it mails out, and checks it
when the URL is opened::

    token = links.sign(site, "rate", "requests", request_id, expires=timedelta(days=14), single_use=True)
    ...                                       # https://crm.example.com/public/rate/{token}
    link = links.verify(site, token, "rate", use=True)   # LinkRefused (403) unless still good
    rate(link.record_id, ...)

A token is ``ID.SIGNATURE``: the row ``kernel_links`` keeps what it was signed for
(purpose, record, expiry, single use) and whether it was revoked or used; the
signature is an HMAC of all of that under a key derived from the site's
(:mod:`kernel.keys`). Changing any character, or presenting a token for another
purpose, fails the signature; an expired, revoked or used link is refused with a
message that says which. The database alone cannot forge a token: the key is not in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .clock import as_utc
from .db import joined
from .errors import Forbidden, ValidationError
from .keys import derived_key
from .models import SignedLink

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

LINKS = SignedLink.__table__
PURPOSE = re.compile(r"[a-z][a-z0-9_.-]{0,39}")
TOKEN = re.compile(r"([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})")
LONGEST = timedelta(days=366)


class LinkRefused(Forbidden):
    """A signed link that cannot be used: not valid, expired, revoked or used already (403)."""

    code = "forbidden"


@dataclass(frozen=True)
class Link:
    """What a verified token was signed for."""

    id: int
    purpose: str
    entity: str
    record_id: int
    expires_at: datetime
    single_use: bool


def sign(
    site: Site,
    purpose: str,
    entity: str,
    record_id: int,
    *,
    expires: timedelta | datetime,
    single_use: bool = False,
    actor: Actor | None = None,
    conn: sa.Connection | None = None,
) -> str:
    """A token for ``purpose`` on one record, good until ``expires`` (a delay or a moment; a year at most).

    Pass ``conn`` to sign inside a write transaction: the link then exists only if it commits.
    """
    if not PURPOSE.fullmatch(purpose):
        raise ValidationError.at(["purpose"], "must be 1-40 lowercase letters, digits, '_', '.' or '-', starting with a letter")
    now = site.clock.now()
    until = now + expires if isinstance(expires, timedelta) else as_utc(expires)
    if not now < until <= now + LONGEST:
        raise ValidationError.at(["expires"], "must be in the future, and at most a year away")
    until = until.replace(microsecond=0)  # what the database keeps on both engines
    row = {"purpose": purpose, "entity": entity, "record_id": int(record_id), "created_at": now, "expires_at": until,
           "single_use": single_use, "created_by": actor.user_id if actor is not None else None}
    with joined(site, conn, write=True) as tx:
        link_id = tx.execute(sa.insert(LINKS).values(row).returning(LINKS.c.id)).scalar_one()
        return f"{link_id}.{_signature(site, link_id, purpose, entity, int(record_id), until, single_use, tx)}"


def verify(site: Site, token: str, purpose: str, *, use: bool = False, conn: sa.Connection | None = None) -> Link:
    """The link behind ``token`` if it is good for ``purpose`` now; :class:`LinkRefused` otherwise.

    With ``use``, a single-use link is spent in the same step (in ``conn``'s transaction
    when given, so that it is spent only if the work it allowed commits).
    """
    match = TOKEN.fullmatch(token or "")
    if match is None:
        raise LinkRefused("this link is not valid")
    link_id = int(match.group(1))
    with joined(site, conn, write=use) as tx:
        row = tx.execute(sa.select(LINKS).where(LINKS.c.id == link_id)).first()
        expected = row and _signature(site, row.id, purpose, row.entity, row.record_id, as_utc(row.expires_at), row.single_use, tx if use else None)
        if row is None or row.purpose != purpose or not hmac.compare_digest(expected, match.group(2)):
            raise LinkRefused("this link is not valid")
        if row.revoked_at is not None:
            raise LinkRefused("this link was withdrawn; ask for a new one")
        now = site.clock.now()
        if as_utc(row.expires_at) <= now:
            raise LinkRefused("this link has expired; ask for a new one")
        if row.single_use and row.used_at is not None:
            raise LinkRefused("this link was used already")
        if use and row.single_use:
            spent = tx.execute(sa.update(LINKS).where(LINKS.c.id == link_id, LINKS.c.used_at.is_(None)).values(used_at=now))
            if spent.rowcount != 1:  # another request spent it a moment ago
                raise LinkRefused("this link was used already")
    return Link(row.id, row.purpose, row.entity, row.record_id, as_utc(row.expires_at), row.single_use)


def revoke(site: Site, entity: str, record_id: int, *, purpose: str | None = None, conn: sa.Connection | None = None) -> int:
    """Withdraw every live link to a record (of one ``purpose``, or all); how many were withdrawn."""
    where = [LINKS.c.entity == entity, LINKS.c.record_id == int(record_id), LINKS.c.revoked_at.is_(None)]
    if purpose is not None:
        where.append(LINKS.c.purpose == purpose)
    with joined(site, conn, write=True) as tx:
        return int(tx.execute(sa.update(LINKS).where(*where).values(revoked_at=site.clock.now())).rowcount)


def purge_expired(site: Site, *, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete links expired for more than ``older_than``; how many (the kernel's daily job calls it)."""
    with site.write() as conn:
        return int(conn.execute(sa.delete(LINKS).where(LINKS.c.expires_at < site.clock.now() - older_than)).rowcount)


def _signature(
    site: Site, link_id: int, purpose: str, entity: str, record_id: int, expires_at: datetime, single_use: bool, conn: sa.Connection | None
) -> str:
    signed = f"{link_id}\n{purpose}\n{entity}\n{record_id}\n{expires_at.replace(microsecond=0).isoformat()}\n{int(single_use)}"
    digest = hmac.new(derived_key(site, "links", conn), signed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


