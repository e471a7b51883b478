"""Custom fields' plain checks (kernel.customfields.quick_check) answer as the compiled validator does.

A value a plain check accepts must come out exactly as the compiled (pydantic) validator gives it,
keys in the same order; a value it does not accept goes to the compiled validator, so errors are
worded as before. Compared over many values of every kind.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError as PydanticError

from kernel.customfields import _REFUSED, CustomField, FieldSet, quick_check
from kernel.errors import ValidationError

SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": "string", "maxLength": 10},
    "short": {"type": "string", "minLength": 2, "maxLength": 4},
    "plain": {"type": "string"},
    "coded": {"type": "string", "pattern": "^[A-Z][0-9]+$", "maxLength": 10},
    "day": {"type": "string", "format": "date"},
    "moment": {"type": "string", "format": "date-time"},
    "mail": {"type": "string", "format": "email"},
    "site": {"type": "string", "format": "uri"},
    "tel": {"type": "string", "format": "phone"},
    "count": {"type": "integer", "minimum": 0, "maximum": 100},
    "wide": {"type": "integer"},
    "ratio": {"type": "number"},
    "share": {"type": "number", "minimum": -1, "maximum": 1},
    "flag": {"type": "boolean"},
    "level": {"type": "string", "enum": ["A", "B", "C"]},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["vip", "new"]}, "uniqueItems": True},
    "budget": {"type": "number", "format": "money", "x-currency": "CNY"},
    "yen": {"type": "number", "format": "money", "x-currency": "JPY", "maximum": 1000},
    "loss": {"type": "number", "format": "money", "minimum": -50},
    "buddy": {"type": "integer", "format": "reference", "x-entity": "users"},
    "pick": {"type": "string", "x-options": "things"},
}


def _values(rng: random.Random) -> list[Any]:
    values: list[Any] = [
        None, True, False, 0, 1, -1, 7, 100, 101, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 0.0, 0.5, -0.5, 1.0, 2.5, 1e308,
        float("inf"), float("-inf"), float("nan"), Decimal("1.50"), "", " ", "A", "B", "D", "a", "hello", "hello world!", "ab",
        "abcde", "A12", "Z9", "é" * 4, "2026-11-23", "2026-13-01", "2026-02-29", "2024-02-29", "2026-11-23T09:30:00+08:00",
        "2026-11-23 09:30", "2026-11-23T09:30:00Z", "li.lei@example.cn", "not-an-email", "a@b.c", "https://example.cn/about",
        "no scheme", "+86 138-0013-8000", "call me", "12345", "1234", "1999.99", "1.005", "12", "-12.5", "1e3", "abc", "0.10",
        "1000", "1001", "-50", "-50.01", ["vip"], ["vip", "vip"], [], {}, 1999.99, 1.005, 12, -60, "x" * 121, "x" * 120,
    ]
    for _ in range(200):
        values.append(rng.randrange(-200, 200))
        values.append(round(rng.uniform(-3, 3), rng.randrange(0, 4)))
        values.append(f"{rng.randrange(0, 10**6)}.{rng.randrange(0, 1000):0{rng.randrange(1, 4)}d}")
        values.append("".join(rng.choice("ab1-@.:/ ") for _ in range(rng.randrange(0, 14))))
        values.append(f"{rng.randrange(1990, 2100)}-{rng.randrange(0, 14):02d}-{rng.randrange(0, 33):02d}")
    return values


def _compiled(fields: FieldSet, values: dict[str, Any]) -> Any:
    try:
        return ("ok", fields._adapter.validate_python(values))
    except PydanticError:
        return ("refused", None)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_plain_check_accepts_only_what_the_compiled_validator_accepts_and_answers_alike(name):
    field_ = CustomField("things", name, SCHEMAS[name])
    fields = FieldSet("things", [field_])
    check = quick_check(field_)
    taken = 0
    for value in _values(random.Random(name)):
        if value is None:
            continue
        compiled = _compiled(fields, {name: value})
        if check is None:
            continue
        quick = check(value)
        if quick is _REFUSED:
            continue
        taken += 1
        assert compiled == ("ok", {name: quick}), (name, value)
        assert type(compiled[1][name]) is type(quick)
    if check is not None:
        assert taken > 0  # the plain check does take values


def test_validate_gives_the_compiled_answer_keys_in_the_fields_order_and_the_same_errors():
    fields = FieldSet("things", [CustomField("things", name, schema) for name, schema in SCHEMAS.items()])
    rng = random.Random(3)
    values = _values(rng)
    names = list(SCHEMAS) + ["unknown"]
    quick_answers = 0
    for _ in range(3_000):
        sent = {name: rng.choice(values) for name in rng.sample(names, rng.randrange(0, 6))}
        compiled = _compiled(fields, sent)
        if compiled[0] == "ok":
            got = fields.validate(sent)
            assert got == compiled[1] and list(got) == list(compiled[1]), sent
            quick_answers += fields._quick(sent) is not None
        else:
            with pytest.raises(ValidationError) as caught:
                fields.validate(sent)
            assert caught.value.details == fields._explain(sent, _error(fields, sent)).details
    assert quick_answers > 100


def _error(fields: FieldSet, values: dict[str, Any]) -> PydanticError:
    try:
        fields._adapter.validate_python(values)
    except PydanticError as exc:
        return exc
    raise AssertionError("accepted")
