"""Reading JSON request bodies and query strings, and writing JSON responses.

Input is checked here for what no field could accept: a body that is not JSON,
text holding NUL characters, integers beyond 64 bits and non-finite numbers.
Those would otherwise reach the database and fail there.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import ValidationError
from ..parsing import INT64_MAX, INT64_MIN, parse_int


class MalformedRequest(ValidationError):
    """400: the request itself cannot be read (broken JSON, a body that is not JSON)."""

    status = 400


class JSON(JSONResponse):
    """A JSON response (orjson: compact UTF-8) that also writes datetimes (ISO 8601), dates and decimals (as strings)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_plain, option=orjson.OPT_NON_STR_KEYS)


def _plain(value: Any) -> Any:
    """What orjson cannot write itself. (It writes datetimes and dates as ``isoformat()`` does.)"""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):  # money and other exact numbers travel as decimal strings (CONTRACT.md)
        return format(value, "f")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json(request: Request) -> Any:
    """The request's JSON body (``None`` when it is empty), or a 400/422 error envelope."""
    raw = await request.body()
    if not raw.strip():
        return None
    if not _is_json(request.headers.get("content-type", "")):
        raise MalformedRequest.at(["header", "content-type"], "send the body as JSON, with 'Content-Type: application/json'")
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise MalformedRequest.at(["body"], "is nested too deeply") from None
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise MalformedRequest.at(["body"], f"is not valid JSON{where}") from None
    check_values(value, ["body"])
    return value


def check_values(value: Any, loc: list[str | int]) -> None:
    """Refuse NUL characters, integers beyond 64 bits and non-finite numbers anywhere in ``value``."""
    stack: list[tuple[Any, list[str | int]]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValidationError.at(where, "must not contain NUL characters")
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                raise ValidationError.at(where, "is too large (at most 64-bit integers)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValidationError.at(where, "must be a finite number")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if "\x00" in key:
                    raise ValidationError.at(where, "has a key holding a NUL character")
                stack.append((sub, [*where, key]))
        elif isinstance(item, list):
            stack.extend((sub, [*where, index]) for index, sub in enumerate(item))


def query_values(request: Request) -> dict[str, str]:
    """The query string as one value per key; a key given twice or a NUL character is a 422."""
    params = request.query_params
    values: dict[str, str] = {}
    for key, value in params.multi_items():
        if key in values:
            raise ValidationError.at(["query", key], "give this parameter once")
        if "\x00" in key or "\x00" in value:
            raise ValidationError.at(["query", key.replace("\x00", "")], "must not contain NUL characters")
        values[key] = value
    return values


def parse_count(values: dict[str, str], name: str, default: int, *, low: int, high: int | None = None) -> int:
    """An integer query parameter such as ``limit`` or ``offset``, within bounds (64-bit at most)."""
    text = values.pop(name, None)
    if text is None:
        return default
    return parse_int(text, ["query", name], low=low, high=high)
