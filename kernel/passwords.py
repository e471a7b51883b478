"""Password hashing with argon2id.

Production parameters follow OWASP's minimum (19 MiB, t=2, p=1) or stronger;
tests build a site with :func:`cheap_hasher` so thousands of logins stay fast.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def default_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def cheap_hasher() -> PasswordHasher:
    """For tests only: the same algorithm with tiny costs."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def verify(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
