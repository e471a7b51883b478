"""When a held record goes back to its pool, and which deadline decides it — for the pages.

A record held from a pool has up to two deadlines (the pool's rules, a level's override winning):

* follow-up: ``followup_days`` × 24 h after the later of its assignment and its last activity;
* close: ``close_days`` × 24 h after its assignment, unless it is closed (then it never goes back).

The earlier one applies. The return job acts on the kernel's timers the engine arms from the
same rules; the pages read the rules themselves so they can say *which* deadline applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .kinds import PoolKind

LABELS = {
    "followup_days": {"en": "Follow-up deadline", "zh_CN": "跟进期限"},
    "close_days": {"en": "Close deadline", "zh_CN": "成交期限"},
}


@dataclass(frozen=True)
class Deadline:
    rule: str  # "followup_days" or "close_days"
    due_at: datetime
    days: int  # the rule's number of days (after a level's override)
    overridden: bool  # a level's override set it

    def seconds_left(self, now: datetime) -> float:
        return (self.due_at - now).total_seconds()


def rule_value(pool: dict[str, Any], level: Any, rule: str) -> tuple[int | None, bool]:
    """The pool's value of ``rule`` for a record of ``level``: the level's override when it names the rule."""
    overrides = pool.get("level_overrides") or {}
    if level is not None and isinstance(overrides.get(str(level)), dict) and rule in overrides[str(level)]:
        return overrides[str(level)][rule], True
    return pool.get(rule), False


def deadline_of(kind: PoolKind, pool: dict[str, Any], record: dict[str, Any], assigned_at: datetime | None, closed: bool) -> Deadline | None:
    """The deadline that applies to ``record`` (held since ``assigned_at``), or ``None`` when it never goes back."""
    if assigned_at is None:
        return None
    level = record.get(kind.level_field) if kind.level_field else None
    found = []
    followup, by_level = rule_value(pool, level, "followup_days")
    if followup:
        activity = record.get(kind.activity_field) if kind.activity_field else None
        start = max(assigned_at, activity) if isinstance(activity, datetime) else assigned_at
        found.append(Deadline("followup_days", start + timedelta(days=followup), followup, by_level))
    close, by_level = rule_value(pool, level, "close_days")
    if close and not closed:
        found.append(Deadline("close_days", assigned_at + timedelta(days=close), close, by_level))
    return min(found, key=lambda d: d.due_at) if found else None


def days_left(deadline: Deadline, now: datetime) -> int:
    """Whole days left (0 on the last day, negative once overdue and not yet returned)."""
    return int(deadline.seconds_left(now) // 86400)
