"""Deterministic deal rows: as a caller sends them, and as Core would insert them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

REGIONS = ("north", "south", "east", "west")
STAGES = ("new", "won", "lost")
#: ``amount`` and ``priority`` share one distribution, so their filters match as many rows.
VALUE_RANGE = 100_000


def deal_inputs(count: int, *, seed: int) -> list[dict[str, Any]]:
    """``count`` deals with all five custom fields, as an import would hand them to the records service."""
    rng = random.Random(seed)
    first_day = date(2026, 1, 1)
    deals = []
    for i in range(count):
        value = rng.randrange(VALUE_RANGE)
        deals.append(
            {
                "title": f"Deal {seed}-{i}",
                "stage": STAGES[i % 3],
                "priority": value,
                "custom": {
                    "amount": value + rng.randrange(100) / 100,
                    "probability": rng.randrange(101),
                    "region": REGIONS[i % 4],
                    "closes_on": (first_day + timedelta(days=rng.randrange(365))).isoformat(),
                    "contact_email": f"buyer{i}@example.com",
                },
            }
        )
    return deals


def core_rows(deals: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The same deals as complete table rows, for a raw ``insert(table)``."""
    return [{**deal, "created_at": now, "updated_at": now} for deal in deals]


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
