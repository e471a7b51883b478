"""Browser sessions: a signed cookie naming a database row, and the CSRF token tied to it.

The cookie holds a random session id signed with the site's key (itsdangerous);
the database keeps only the id's SHA-256. Signing in always makes a new id (and
drops the one the browser had), signing out deletes the row, so a copied cookie
dies with the session. The CSRF token is an HMAC of the session id: it changes
with every session and needs no storage of its own.

The key is the site's (:mod:`kernel.keys`): ``settings.secret_key``, or one
generated once and kept in ``kernel_secrets`` so every worker signs with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

from ..keys import signing_key
from ..models import BrowserSession, User
from ..site import Site

SESSIONS = BrowserSession.__table__
COOKIE = "crm_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_TTL = timedelta(days=14)

def _signer(site: Site) -> Signer:
    return Signer(signing_key(site), salt="crm.session")


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def csrf_token(site: Site, sid: str) -> str:
    return hmac.new(signing_key(site).encode(), b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()


def csrf_matches(site: Site, sid: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(site, sid), str(sent))


def session_id(site: Site, request: Request) -> str | None:
    """The session id in the request's cookie, if its signature is good."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        return _signer(site).unsign(cookie).decode()
    except BadSignature:
        return None


def start(site: Site, conn: sa.Connection, user_id: int, *, ip: str | None, replacing: str | None, version: int | None = None) -> str:
    """Store a new session for ``user_id`` (dropping the ``replacing`` one) and return its id.

    The session holds the user's credentials version: ``version`` when the caller checked the
    password against that row, else the one stored now. It ends when the version moves on.
    """
    if replacing:
        conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.sid_hash == sid_hash(replacing)))
    sid = secrets.token_urlsafe(32)
    now = site.clock.now()
    values = {"user_id": user_id, "sid_hash": sid_hash(sid), "created_at": now, "expires_at": now + SESSION_TTL, "ip": ip}
    conn.execute(sa.insert(SESSIONS).values(**values, credentials_version=current_version(user_id, version)))
    return sid


def current_version(user_id: int, version: int | None) -> Any:
    """``version``, or the user's stored credentials version (a subquery, read in the writing transaction)."""
    if version is not None:
        return version
    users = User.__table__
    return sa.select(users.c.credentials_version).where(users.c.id == user_id).scalar_subquery()


def end(conn: sa.Connection, sid: str) -> bool:
    """Delete the session; ``True`` if there was one."""
    return bool(conn.execute(sa.delete(SESSIONS).where(SESSIONS.c.sid_hash == sid_hash(sid))).rowcount)


def set_cookie(site: Site, request: Request, response: Response, sid: str) -> None:
    response.set_cookie(
        COOKIE,
        _signer(site).sign(sid).decode(),
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


def user_query(sid: str, now: datetime) -> sa.Select[Any]:
    """The active user of the live session ``sid``, read afresh on every request (role, team and
    all), while the user's credentials version is still the session's."""
    users = User.__table__
    return (
        sa.select(users)
        .join(SESSIONS, SESSIONS.c.user_id == users.c.id)
        .where(
            SESSIONS.c.sid_hash == sid_hash(sid),
            SESSIONS.c.expires_at > now,
            SESSIONS.c.credentials_version == users.c.credentials_version,
            users.c.active.is_(True),
        )
    )
