"""The dashboard's date ranges (kernel.dashboards.Period): whole days in the viewer's time zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kernel import Period

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-03-31 20:00 UTC is already April 1st, 04:00 in Shanghai
NOW = datetime(2026, 3, 31, 20, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("key, first_day", [
    ("today", "2026-04-01"), ("7d", "2026-03-26"), ("30d", "2026-03-03"),
    ("month", "2026-04-01"), ("quarter", "2026-04-01"), ("year", "2026-01-01"),
])
def test_a_range_starts_and_ends_at_midnight_in_the_viewer_s_zone(key, first_day):
    period = Period.of(key, NOW, SHANGHAI)
    assert period.key == key
    assert period.start.astimezone(SHANGHAI).isoformat() == f"{first_day}T00:00:00+08:00"
    assert period.end.astimezone(SHANGHAI).isoformat() == "2026-04-02T00:00:00+08:00"
    assert period.filters("created_at") == {"created_at__gte": period.start, "created_at__lt": period.end}


def test_the_same_moment_is_still_march_in_utc():
    assert Period.of("month", NOW, ZoneInfo("UTC")).start == datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("key", ["all", "", "forever", "7D"])
def test_all_time_or_an_unknown_key_has_no_bounds_and_no_filters(key):
    period = Period.of(key, NOW, SHANGHAI)
    assert (period.key, period.start, period.end, period.filters("created_at")) == ("all", None, None, {})
