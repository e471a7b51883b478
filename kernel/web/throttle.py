"""Login throttling: login attempts counted per account and per IP in the database.

Counting rows in ``kernel_login_failures`` (not a process's memory) makes the
limit hold across every worker. Within :data:`WINDOW`, an account may fail
:data:`ACCOUNT_LIMIT` times and an IP :data:`IP_LIMIT` times; after that every
attempt — even with the right password — is refused with 429 and a retry hint
until the oldest counted failure leaves the window. Refused attempts are not
counted, so waiting always helps; a successful login clears the account's count.

Checking and counting are one atomic step, taken before the password is checked
(:func:`reserve`): every attempt first stores its row, in a write transaction
that holds the account's and the address's lock (SQLite: the database's write
lock; PostgreSQL: transaction-scoped advisory locks), so however many attempts
arrive at once on however many workers, at most the limit of passwords is checked.
A failed attempt's row stays as its failure; a successful one clears the account.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..errors import RateLimited
from ..models import LoginFailure

FAILURES = LoginFailure.__table__
WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
IP_LIMIT = 20


def reserve(conn: sa.Connection, email: str, ip: str | None, now: datetime) -> RateLimited | None:
    """Count one attempt for ``email`` and ``ip`` — or, past a limit, count nothing and return the refusal.

    ``conn`` must be a write transaction (:meth:`kernel.Site.write`); the attempt is counted as a
    failure until :func:`clear` forgets it after a successful login.
    """
    _lock(conn, [f"email:{email}"] + ([f"ip:{ip}"] if ip else []))
    limits = [("email", FAILURES.c.email == email, ACCOUNT_LIMIT, "this account")]
    if ip:
        limits.append(("ip", FAILURES.c.ip == ip, IP_LIMIT, "your address"))
    for loc, condition, limit, who in limits:
        recent = list(
            conn.scalars(
                sa.select(FAILURES.c.at).where(condition, FAILURES.c.at > now - WINDOW).order_by(FAILURES.c.at.desc()).limit(limit)
            )
        )
        if len(recent) >= limit:
            wait = max(1, math.ceil((recent[-1] + WINDOW - now).total_seconds()))
            error = RateLimited(
                f"too many failed logins for {who}; try again in {wait} seconds",
                [{"loc": ["body", loc], "msg": f"{limit} failed logins within {int(WINDOW.total_seconds() // 60)} minutes"}],
            )
            error.retry_after = wait  # type: ignore[attr-defined]  # read by the error handler (Retry-After)
            return error
    conn.execute(sa.delete(FAILURES).where(FAILURES.c.at <= now - WINDOW))
    conn.execute(sa.insert(FAILURES).values(at=now, email=email, ip=ip))
    return None


def clear(conn: sa.Connection, email: str) -> None:
    conn.execute(sa.delete(FAILURES).where(FAILURES.c.email == email))


def _lock(conn: sa.Connection, names: list[str]) -> None:
    """Serialize attempts on the same account or address until the transaction ends.

    SQLite's write transactions (``BEGIN IMMEDIATE``) already run one at a time; PostgreSQL
    takes an advisory lock per name, always in the same order so two attempts never deadlock.
    """
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True) for name in names})
    for key in keys:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
