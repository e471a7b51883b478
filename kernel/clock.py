"""The one clock every rule asks for the time.

Deadlines (recycle a lead after N days, return a customer to the sea) never call
``datetime.now()`` themselves: they ask the site's clock, so tests and the
``crm jobs run --now`` command can move time instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """What tells the kernel the time: :class:`SystemClock` in production, :class:`FrozenClock` in tests."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that only moves when told to: for tests and for replaying a given time."""

    def __init__(self, at: datetime | None = None):
        self._lock = threading.Lock()
        self._at = as_utc(at) if at else datetime.now(timezone.utc)

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = as_utc(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new time."""
        with self._lock:
            self._at += delta if delta is not None else timedelta(**kwargs)
            return self._at


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken as UTC; an aware one is converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
