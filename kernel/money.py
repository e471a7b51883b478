"""Money: ``Decimal`` amounts in an ISO 4217 currency, never floats.

An amount is a :class:`~decimal.Decimal` with exactly the currency's minor digits
(``CNY`` 2, ``JPY`` 0); it travels in the API and in the ``custom`` JSON as a
decimal string (``"12345.67"``). Rounding is always ``ROUND_HALF_UP`` (half a
minor unit rounds away from zero: ``2.675`` → ``2.68``, ``-2.675`` → ``-2.68``),
the rounding people expect on invoices, and is done by :func:`quantize` only:
parsing never rounds (too many digits is an error), arithmetic rounds its result.
Amounts of different currencies are never added (:func:`sum_by_currency`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel import numbers

#: ISO 4217 minor units (digits after the point) of the currencies PlugCRM knows.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "JPY": 0, "TWD": 2, "SGD": 2, "KRW": 0,
    "MOP": 2, "AUD": 2, "CAD": 2, "CHF": 2, "NZD": 2, "THB": 2, "MYR": 2, "INR": 2, "VND": 0,
}

#: Amounts are smaller than 10**18 in size (they fit ``Numeric(18 + 2, 2)`` and a 64-bit count of minor units).
LIMIT = Decimal(10) ** 18


def minor_digits(currency: str) -> int:
    """The number of minor digits of ``currency`` (``"JPY"`` → 0); a ``ValueError`` for an unknown code."""
    try:
        return MINOR_UNITS[currency]
    except (KeyError, TypeError):
        raise ValueError(f"unknown currency {currency!r} (known: {', '.join(sorted(MINOR_UNITS))})") from None


def parse_money(value: Any, currency: str) -> Decimal:
    """``value`` (a decimal string, an int, a ``Decimal`` or an exact float) as an amount of ``currency``.

    Refused with a ``ValueError`` saying why: text that is not a plain decimal
    number, NaN and infinities, more digits after the point than the currency has
    (never silently rounded), and floats whose shortest text has more digits
    (``0.1 + 0.2`` is ``0.30000000000000004``). A float like ``12.5`` is exact
    enough and accepted. The result carries exactly the currency's minor digits.
    """
    digits = minor_digits(currency)
    if type(value) is str and _SIMPLE[digits].fullmatch(value):  # the commonest amount: every check below passes it
        return Decimal(value).quantize(_UNITS[digits], rounding=ROUND_HALF_UP)
    return _checked(value, currency, digits)


def _checked(value: Any, currency: str, digits: int) -> Decimal:
    """:func:`parse_money` by its every check (``tests/test_money.py`` compares it with the short way)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a decimal string such as \"12.50\"")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"is not a decimal number such as \"12.50\": {str(value)[:40]!r}") from None
    if not amount.is_finite() or (isinstance(value, str) and not _plain(text)):
        raise ValueError(f"is not a decimal number such as \"12.50\": {text[:40]!r}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits and amount != amount.quantize(Decimal(1).scaleb(-digits)):
        raise ValueError(f"has more than {digits} decimals for {currency}" if digits else f"must be whole {currency}")
    if abs(amount) >= LIMIT:
        raise ValueError("is too large (at most 18 digits before the point)")
    return quantize(amount, currency)


_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
#: By minor digits: an amount in plain digits with at most 18 before the point and at most the currency's
#: digits after it (``12345.50``, ``-3``), which :func:`parse_money` takes as it is.
_SIMPLE = {d: re.compile(rf"-?[0-9]{{1,18}}(?:\.[0-9]{{1,{d}}})?" if d else r"-?[0-9]{1,18}") for d in set(MINOR_UNITS.values())}
_UNITS = {d: Decimal(1).scaleb(-d) for d in set(MINOR_UNITS.values())}


def _plain(text: str) -> bool:
    """ASCII digits with an optional sign and point: no exponent, no spaces inside, no underscores."""
    return _PLAIN.fullmatch(text) is not None


def quantize(amount: Decimal | int, currency: str) -> Decimal:
    """``amount`` rounded ``ROUND_HALF_UP`` to ``currency``'s minor unit (``2.675`` → ``2.68``)."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_HALF_UP)


def money_text(amount: Decimal | int | str, currency: str) -> str:
    """The decimal string an amount travels and is stored as (``"12.50"``, ``"100"`` for JPY)."""
    return format(parse_money(amount, currency) if not isinstance(amount, Decimal) else quantize(amount, currency), "f")


def add(a: Decimal, b: Decimal, currency: str) -> Decimal:
    """``a + b``, rounded to ``currency``'s minor unit."""
    return quantize(Decimal(a) + Decimal(b), currency)


def subtract(a: Decimal, b: Decimal, currency: str) -> Decimal:
    """``a - b``, rounded to ``currency``'s minor unit."""
    return quantize(Decimal(a) - Decimal(b), currency)


def multiply(amount: Decimal, factor: Decimal | int | str, currency: str) -> Decimal:
    """``amount × factor`` (a quantity or a rate such as ``Decimal("0.13")``), rounded ``ROUND_HALF_UP``
    once, at the end, to ``currency``'s minor unit. A float factor is refused (pass a string)."""
    if isinstance(factor, float):
        raise TypeError("pass a rate as a Decimal or a string, not a float")
    return quantize(Decimal(amount) * Decimal(factor), currency)


def sum_by_currency(items: Iterable[tuple[Decimal | int | str, str]]) -> dict[str, Decimal]:
    """Totals per currency of ``(amount, currency)`` pairs: amounts of different currencies
    are never added together. Each amount is parsed as :func:`parse_money` does."""
    totals: dict[str, Decimal] = {}
    for amount, currency in items:
        totals[currency] = totals.get(currency, quantize(0, currency)) + parse_money(amount, currency)
    return totals


def format_money(amount: Decimal | int | str, currency: str, locale: str) -> str:
    """``amount`` for people reading ``locale`` (``"zh_CN"``: ``¥1,234.50``; ``"en"`` and USD: ``$1,234.50``)."""
    value = amount if isinstance(amount, Decimal) else parse_money(amount, currency)
    return numbers.format_currency(value, currency, locale=locale, currency_digits=True)
