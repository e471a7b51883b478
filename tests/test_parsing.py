"""kernel.parsing: the one reader of numbers, ids, dates and times from text."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kernel import ValidationError
from kernel.parsing import INT64_MAX, optional_id, parse_date, parse_datetime, parse_decimal, parse_id, parse_int, parse_moment


@pytest.mark.parametrize("text", ["²", "1²", "١٢", "１２", "𝟙", "1_000", "0x10", "", " ", "1.0", "1e3", "+", "-", "12\n"])
def test_integers_are_ascii_digits_only(text):
    with pytest.raises(ValidationError) as refused:
        parse_int(text, ["query", "limit"])
    assert refused.value.details == [{"loc": ["query", "limit"], "msg": "must be a whole number"}]


@pytest.mark.parametrize("text", [str(INT64_MAX + 1), str(-(2**63) - 1), "9" * 30, "9" * 5000])
def test_integers_fit_64_bits(text):
    with pytest.raises(ValidationError, match="between"):
        parse_int(text, ["query", "n"])


def test_integers_within_bounds_and_ids():
    assert parse_int(" 42 ", ["x"]) == 42
    assert parse_int(str(INT64_MAX), ["x"]) == INT64_MAX
    assert parse_int("-7", ["x"], low=-10, high=0) == -7
    with pytest.raises(ValidationError, match="between 1 and 5"):
        parse_int("6", ["x"], low=1, high=5)
    assert parse_id("7", ["path", "id"]) == 7
    for odd in ("0", "-1", str(INT64_MAX + 1), "²", True, 1.5):
        assert optional_id(odd) is None
    assert optional_id(12) == 12


def test_decimals_are_finite_ascii_and_bounded():
    assert parse_decimal("12.50", ["x"]) == Decimal("12.50")
    assert parse_decimal(".5", ["x"]) == Decimal("0.5")
    for odd in ("NaN", "Infinity", "1e999", "1e38", "١٢", "1,5", "", True):
        with pytest.raises(ValidationError):
            parse_decimal(odd, ["x"])


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"],
)
def test_datetimes_at_the_edges_of_the_calendar_are_refused_clearly(text):
    with pytest.raises(ValidationError) as refused:
        parse_datetime(text, ["query", "updated_at__gte"])
    assert refused.value.details[0]["msg"] == "must be between 0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z"


def test_datetimes_come_back_in_utc():
    assert parse_datetime("2026-11-23T09:30:00+08:00", ["x"]) == datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)
    assert parse_datetime("2026-11-23t01:30:00z", ["x"]) == datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)
    assert parse_datetime("2026-11-23T09:30:00+23:59", ["x"]).utcoffset() == timedelta(0)  # any offset RFC 3339 allows
    assert parse_datetime("2016-12-31T23:59:60Z", ["x"]) == datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert parse_datetime("0001-01-02T13:00:00+13:00", ["x"]) == datetime(1, 1, 2, tzinfo=timezone.utc)
    local = timezone(timedelta(hours=8))
    assert parse_datetime("2026-11-23T09:30", ["x"], assume=local) == datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)
    assert parse_moment("2026-11-23", ["x"], assume=local) == datetime(2026, 11, 22, 16, 0, tzinfo=timezone.utc)
    for odd in ("2026-11-23T09:30", "2026-02-30T00:00:00Z", "２０２６-１１-２３T00:00:00Z", "2026-11-23T09:30:00+24:00", "²"):
        with pytest.raises(ValidationError):
            parse_datetime(odd, ["x"])


def test_dates():
    assert parse_date("2026-03-01", ["x"]) == date(2026, 3, 1)
    for odd in ("20260301", "2026-02-30", "0001-01-01", "9999-12-31", "２０２６-０３-０１", "2026-3-1"):
        with pytest.raises(ValidationError):
            parse_date(odd, ["x"])
