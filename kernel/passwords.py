"""Password hashing with argon2id, and the password policy.

Production parameters follow OWASP's minimum (19 MiB, t=2, p=1) or stronger;
tests build a site with :func:`cheap_hasher` so thousands of logins stay fast.

The policy (:func:`weakness`): at least :data:`PASSWORD_MIN` characters, at most
:data:`PASSWORD_MAX`, not only digits, not one character repeated, not one of the most
common passwords (``common_passwords.txt``), not the account's email or its name part.
"""

from __future__ import annotations

import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # longer passwords are refused before any hashing
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")

# the policy's messages; the UI shows them translated (kernel/locale)
TOO_SHORT = "Use at least 10 characters."
TOO_LONG = "Use at most 256 characters."
ONLY_DIGITS = "Use more than digits."
ONE_CHARACTER = "Use more than one repeated character."
TOO_COMMON = "This is one of the most common passwords; choose another."
LIKE_EMAIL = "Do not use your email address as your password."


def weakness(password: str, email: str | None = None) -> str | None:
    """Why ``password`` may not be chosen (for the account ``email``), or ``None`` if it may."""
    if len(password) < PASSWORD_MIN:
        return TOO_SHORT
    if len(password) > PASSWORD_MAX:
        return TOO_LONG
    if password.isdigit():
        return ONLY_DIGITS
    if len(set(password)) == 1:
        return ONE_CHARACTER
    folded = password.strip().casefold()
    if folded in _common():
        return TOO_COMMON
    if email and folded in {email.casefold(), email.partition("@")[0].casefold()}:
        return LIKE_EMAIL
    return None


@functools.cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


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
