"""The site's signing key, shared by every process, and keys derived from it for one use each.

The key is ``secret_key`` from the settings; without one, a random key is made on
first use and kept in ``kernel_secrets``, so every worker signs with the same key.
Each use (browser sessions, signed links, …) signs with :func:`derived_key`, so a
signature made for one use is worthless for another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import weakref
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .models import Secret

if TYPE_CHECKING:
    from .site import Site

SECRETS = Secret.__table__
KEY_NAME = "session_key"  # the stored key's name (it signed sessions first)

_keys: weakref.WeakKeyDictionary[Site, str] = weakref.WeakKeyDictionary()
_QUERY = sa.select(SECRETS.c.value).where(SECRETS.c.name == KEY_NAME)


def signing_key(site: Site, conn: sa.Connection | None = None) -> str:
    """The site's key: from settings, else the one stored in the database (made on first use,
    in ``conn``'s transaction when the caller is inside one)."""
    if site.settings.secret_key:
        return site.settings.secret_key
    key = _keys.get(site)
    if key is None:
        key = _stored_key(site) if conn is None else _stored_key_in(site, conn)
        _keys[site] = key
    return key


def derived_key(site: Site, use: str, conn: sa.Connection | None = None) -> bytes:
    """A key for one ``use`` (``"links"``), derived from :func:`signing_key`."""
    return hmac.new(signing_key(site, conn).encode(), b"crm.key:" + use.encode(), hashlib.sha256).digest()


def _stored_key_in(site: Site, conn: sa.Connection) -> str:
    value = conn.scalar(_QUERY)
    if value is None:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(SECRETS).values(name=KEY_NAME, value=secrets.token_urlsafe(48), created_at=site.clock.now()))
        except sa.exc.IntegrityError:
            pass  # another worker stored one first: use theirs
        value = conn.scalar(_QUERY)
    return str(value)


def _stored_key(site: Site) -> str:
    query = _QUERY
    with site.engine.connect() as conn:
        value = conn.scalar(query)
    if value is None:
        try:
            with site.write() as conn:
                conn.execute(sa.insert(SECRETS).values(name=KEY_NAME, value=secrets.token_urlsafe(48), created_at=site.clock.now()))
        except sa.exc.IntegrityError:
            pass  # another worker stored one first: use theirs
        with site.engine.connect() as conn:
            value = conn.scalar(query)
    return str(value)
