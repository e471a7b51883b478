"""kernel.web.payload: JSON responses are written by orjson exactly as the standard library wrote them."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from kernel.web.payload import JSON, _plain

VALUES = {
    "aware": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc),
    "shanghai": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8))),
    "naive": datetime(2026, 1, 2, 3, 4, 5),
    "day": date(2026, 1, 2),
    "money": Decimal("12.50"),
    "whole": Decimal("3"),
    "set": {1, 2},
    "tuple": (1, "李娜"),
    7: "an integer key",
    "float": 0.1,
    "big": 2**63,
    "nothing": None,
    "yes": True,
}


def test_responses_match_the_standard_library_byte_for_byte():
    before = json.dumps(VALUES, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_plain).encode()
    assert JSON(VALUES).body == before
    assert json.loads(JSON(VALUES).body)["tuple"] == [1, "李娜"]
