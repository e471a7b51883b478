"""The optional parts of the admin's "add a field" form: help text, maximum length, currency,
minimum, default value and the required flag, turned into the field's JSON Schema keys.

Each problem is a :class:`~kernel.errors.ValidationError` located at the form's own input
(``max_length``, ``minimum``, ``default``…), so the page shows it next to that input.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ...customfields import check_default
from ...errors import ValidationError

EXTRA_KEYS = ("description", "max_length", "currency", "minimum", "default")
TEXT_KINDS = frozenset({"string", "text", "email", "uri", "phone"})
NUMBER_KINDS = frozenset({"integer", "number", "money"})


def _number(text: str, key: str, *, whole: bool) -> Any:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise ValidationError.at([key], "must be a number") from None
    if not value.is_finite() or (whole and value != value.to_integral_value()):
        raise ValidationError.at([key], "must be a whole number" if whole else "must be a number")
    return int(value) if whole or value == value.to_integral_value() else float(value)


def _default(kind: str, text: str) -> Any:
    if kind in ("integer", "reference"):
        return _number(text, "default", whole=True)
    if kind == "number":
        return float(_number(text, "default", whole=False))
    if kind == "boolean":
        return text.strip().lower() in ("1", "yes", "true", "on", "是")
    if kind == "multi_enum":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text.strip()  # text kinds, choices, dates and money (a decimal string)


def extra_schema(kind: str, schema: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """The schema keys ``more`` (the form's values) asks for, checked."""
    extra: dict[str, Any] = {}
    text = {k: str(more.get(k) or "").strip() for k in EXTRA_KEYS}
    if text["description"]:
        if len(text["description"]) > 500:
            raise ValidationError.at(["description"], "must be at most 500 characters")
        extra["description"] = text["description"]
    if text["max_length"] and kind in TEXT_KINDS:
        limit = _number(text["max_length"], "max_length", whole=True)
        if not 1 <= limit <= 100_000:
            raise ValidationError.at(["max_length"], "must be a whole number from 1 to 100000")
        extra["maxLength"] = limit
    if text["currency"] and kind == "money":
        extra["x-currency"] = text["currency"].upper()
    if text["minimum"] and kind in NUMBER_KINDS:
        extra["minimum"] = _number(text["minimum"], "minimum", whole=kind == "integer")
    if more.get("required"):
        extra["x-required"] = True
    if text["default"]:
        extra["default"] = _default(kind, text["default"])
        try:
            check_default("field", {**schema, **extra})
        except ValidationError as exc:
            raise ValidationError.at(["default"], str(exc.details[0]["msg"]) if exc.details else exc.message) from None
    return extra
