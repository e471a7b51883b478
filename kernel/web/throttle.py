"""Login throttling: failed logins counted per account and per IP in the database.

Counting rows in ``kernel_login_failures`` (not a process's memory) makes the
limit hold across every worker. Within :data:`WINDOW`, an account may fail
:data:`ACCOUNT_LIMIT` times and an IP :data:`IP_LIMIT` times; after that every
attempt — even with the right password — is refused with 429 and a retry hint
until the oldest counted failure leaves the window. Refused attempts are not
counted, so waiting always helps; a successful login clears the account's count.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..errors import RateLimited
from ..models import LoginFailure

FAILURES = LoginFailure.__table__
WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
IP_LIMIT = 20


def check(conn: sa.Connection, email: str, ip: str | None, now: datetime) -> None:
    """Raise :class:`RateLimited` if the account or the IP failed too often recently."""
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
            raise error


def record_failure(conn: sa.Connection, email: str, ip: str | None, now: datetime) -> None:
    """Count one failure, and forget failures that left the window."""
    conn.execute(sa.delete(FAILURES).where(FAILURES.c.at <= now - WINDOW))
    conn.execute(sa.insert(FAILURES).values(at=now, email=email, ip=ip))


def clear(conn: sa.Connection, email: str) -> None:
    conn.execute(sa.delete(FAILURES).where(FAILURES.c.email == email))
