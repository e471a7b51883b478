"""Numbers, ids, dates and times read from text: the one place input text becomes such a value.

Query parameters, path ids, form fields, filters, custom-field values and plugin
routes all read them through here, so each refuses the same way, with a
:class:`~kernel.errors.ValidationError` (422) naming the field and the reason:

- digits are ASCII only: ``²`` or ``٣`` pass ``str.isdigit()`` but are no number here;
- integers fit a 64-bit column, ids are 1 … 2⁶³−1;
- decimals are finite, of bounded size, written in ASCII;
- dates and date-times lie inside the calendar even after conversion to UTC
  (``0001-01-01T00:00:00+14:00`` would be a year 0), with a day's margin at each end
  so that "the end of that day" or "the next day" still exists; date-times come
  back timezone-aware, in UTC.

``loc`` is where the value came from, as in an error's details, e.g. ``["query", "limit"]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: The smallest and largest date accepted anywhere (a day's margin inside Python's calendar).
FIRST_DATE = date(1, 1, 2)
LAST_DATE = date(9999, 12, 30)
FIRST_MOMENT = datetime(1, 1, 2, tzinfo=timezone.utc)
LAST_MOMENT = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=timezone.utc)
#: Decimals are smaller than 10 to this power in size.
DECIMAL_DIGITS = 38

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DATETIME = re.compile(
    r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<clock>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)(?P<zone>[Zz]|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)

Loc = Sequence[str | int]
#: Exact types :func:`check_storable` has nothing to check in (none of them is an int, a date or a date-time).
_STORABLE = frozenset({str, type(None), bool, float, Decimal, list, dict, tuple})


def _refuse(loc: Loc, msg: str) -> ValidationError:
    return ValidationError.at(list(loc), msg)


def _bounds(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"must be a whole number between {low} and {high}"
    if low is not None:
        return f"must be a whole number, {low} or more"
    return f"must be a whole number, {high} or less"


def parse_int(text: object, loc: Loc, *, low: int | None = INT64_MIN, high: int | None = INT64_MAX) -> int:
    """A whole number written in ASCII digits (or a JSON integer), within ``low``…``high``."""
    if isinstance(text, bool):
        raise _refuse(loc, "must be a whole number")
    if isinstance(text, int):
        number = text
    elif isinstance(text, str) and _INTEGER.fullmatch(text.strip(" ")):
        digits = text.strip(" ").lstrip("+-").lstrip("0")
        number = int(text.strip(" ")) if len(digits) <= 19 else (INT64_MAX + 1) * (-1 if text.strip(" ")[0] == "-" else 1)
    else:
        raise _refuse(loc, "must be a whole number")
    low = INT64_MIN if low is None else max(low, INT64_MIN)
    high = INT64_MAX if high is None else min(high, INT64_MAX)
    if not low <= number <= high:
        raise _refuse(loc, _bounds(low, high))
    return number


def parse_id(text: object, loc: Loc) -> int:
    """A record id: a whole number from 1 to 2⁶³−1."""
    return parse_int(text, loc, low=1, high=INT64_MAX)


def optional_id(text: object) -> int | None:
    """``text`` as a record id, or ``None`` when it is none (for optional form and query values)."""
    try:
        return parse_id(text, [])
    except ValidationError:
        return None


def optional_int(text: object, *, low: int, high: int) -> int | None:
    """``text`` as a whole number within ``low``…``high``, or ``None`` when it is not one."""
    try:
        return parse_int(text, [], low=low, high=high)
    except ValidationError:
        return None


def parse_decimal(text: object, loc: Loc) -> Decimal:
    """A finite decimal number written in ASCII (or a JSON number) of bounded size."""
    if isinstance(text, bool):
        raise _refuse(loc, "must be a number")
    if isinstance(text, int | float | Decimal):
        raw = str(text)
    elif isinstance(text, str) and len(text) <= 2 * DECIMAL_DIGITS and _DECIMAL.fullmatch(text.strip(" ")):
        raw = text.strip(" ")
    else:
        raise _refuse(loc, "must be a number (digits, an optional sign, decimal point and exponent)")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _refuse(loc, "must be a number") from None
    if not value.is_finite():
        raise _refuse(loc, "must be a finite number")
    if value and value.adjusted() >= DECIMAL_DIGITS:
        raise _refuse(loc, f"is out of range (less than 1e{DECIMAL_DIGITS} in size)")
    return value


def parse_date(text: object, loc: Loc) -> date:
    """A calendar date ``YYYY-MM-DD`` between :data:`FIRST_DATE` and :data:`LAST_DATE`."""
    if isinstance(text, datetime):
        text = text.date()
    if isinstance(text, date):
        found = text
    elif isinstance(text, str) and _DATE.fullmatch(text.strip(" ")):
        try:
            found = date.fromisoformat(text.strip(" "))
        except ValueError:
            raise _refuse(loc, "is not a date of the calendar") from None
    else:
        raise _refuse(loc, "must be a date (YYYY-MM-DD)")
    if not FIRST_DATE <= found <= LAST_DATE:
        raise _refuse(loc, f"must be between {FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}")
    return found


def parse_datetime(text: object, loc: Loc, *, assume: tzinfo | None = None) -> datetime:
    """An RFC 3339 date-time (``2026-11-23T09:30:00+08:00``), returned in UTC.

    Without an offset it is refused, unless ``assume`` names the zone to read it in (a
    form's local time). A leap second (``23:59:60``) is read as the last instant before
    the next minute. The moment must lie between :data:`FIRST_MOMENT` and :data:`LAST_MOMENT`.
    """
    if isinstance(text, datetime):
        moment = text
    elif isinstance(text, str) and (match := _DATETIME.fullmatch(text.strip(" "))):
        moment = _read_datetime(match, loc)
    else:
        raise _refuse(loc, "must be a date-time (RFC 3339, e.g. 2026-11-23T09:30:00+08:00)")
    if moment.tzinfo is None:
        if assume is None:
            raise _refuse(loc, "must be a date-time with a time zone (e.g. 2026-11-23T09:30:00+08:00)")
        moment = moment.replace(tzinfo=assume)
    offset = moment.utcoffset() or timedelta(0)
    # compared before converting: 0001-01-01T00:00+14:00 in UTC would be a year 0, outside the calendar
    local = moment.replace(tzinfo=None)
    if not datetime.combine(FIRST_DATE, time.min) + offset <= local <= datetime.combine(LAST_DATE, time.max) + offset:
        raise _refuse(loc, f"must be between {_utc_text(FIRST_MOMENT)} and {_utc_text(LAST_MOMENT)}")
    return moment.astimezone(timezone.utc)


def _utc_text(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _read_datetime(match: re.Match[str], loc: Loc) -> datetime:
    day, clock, zone = match.group("day"), match.group("clock"), match.group("zone") or ""
    leap = clock[6:8] == "60"
    if leap:
        clock = clock[:6] + "59" + (clock[8:] and ".999999")
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{zone}")
    except ValueError:
        raise _refuse(loc, "is not a date and time of the calendar") from None
    return moment.replace(microsecond=999999) if leap else moment


def parse_moment(text: object, loc: Loc, *, assume: tzinfo) -> datetime:
    """A date-time as :func:`parse_datetime` reads it, or a date alone: that day's start in ``assume``."""
    if isinstance(text, str) and _DATE.fullmatch(text.strip(" ")):
        return datetime.combine(parse_date(text, loc), time.min, assume).astimezone(timezone.utc)
    return parse_datetime(text, loc, assume=assume)


def check_storable(values: Mapping[str, Any]) -> None:
    """Refuse a value among a validated record's ``values`` that no column could store.

    pydantic reads ``0001-01-01T00:00:00+14:00`` as a datetime and ``2**70`` as an int; only
    storing them would fail. Integers must fit 64 bits, dates and date-times the calendar
    range (a naive date-time is taken as UTC, as the database layer stores it).
    """
    for name, value in values.items():
        if type(value) in _STORABLE:  # most values of a record (text, none): nothing to check, nothing to ask isinstance
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            parse_int(value, [name])
        elif isinstance(value, datetime):
            parse_datetime(value, [name], assume=timezone.utc)
        elif isinstance(value, date):
            parse_date(value, [name])


async def read_json_object(request: Any) -> dict[str, Any]:
    """A route's JSON object body: 400 when it is not JSON (or not sent as ``application/json``), 422
    naming ``body`` when it is empty or anything but an object. The one way a plugin's route reads its body."""
    from .web.payload import read_json  # the HTTP layer, loaded by a request (importing the kernel does not load it)

    value = await read_json(request)
    if not isinstance(value, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    return value
