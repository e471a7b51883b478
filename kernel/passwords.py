"""Password hashing with argon2id.

Production parameters follow OWASP's minimum (19 MiB, t=2, p=1) or stronger;
tests build a site with :func:`cheap_hasher` so thousands of logins stay fast.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MAX = 256  # longer passwords are refused before any hashing


def default_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def cheap_hasher() -> PasswordHasher:
    """For tests only: the same algorithm with tiny costs."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def verify(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``. Without a stored hash (an unknown email, a user
    without a password) a stand-in hash is checked anyway, so the answer takes as long either
    way and the time taken doesn't tell which emails have accounts."""
    if not stored:
        _spend(hasher, password)
        return False
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


_STAND_INS: dict[tuple[int, int, int], str] = {}


def _stand_in(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _STAND_INS:
        _STAND_INS[key] = hasher.hash("stand-in password that no one has")
    return _STAND_INS[key]


def _spend(hasher: PasswordHasher, password: str) -> None:
    try:
        hasher.verify(_stand_in(hasher), password)
    except (VerificationError, InvalidHashError):
        pass
