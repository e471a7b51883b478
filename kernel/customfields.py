"""Custom fields: admin-defined fields described by JSON Schema fragments.

Definitions are checked against ``schemas/custom_field.schema.json`` with
``jsonschema``. Values are checked on every write by a validator compiled
from the definitions (pydantic, ~10x faster than ``jsonschema``), the common kinds
first by plain Python checks made once per field set (:func:`quick_check`); only
when the compiled validator refuses a value is ``jsonschema`` asked again, for its wording.

Values live in each record's ``custom`` JSON column (JSONB on PostgreSQL), so
adding a field rewrites no table. :func:`field_expression` is the single place
that turns a field into SQL; the index created for an ``indexed`` field is
built from the very same text, so the database can use it.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal, Optional

from typing_extensions import TypedDict

import jsonschema
import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError as PydanticError

import schemas

from . import messages
from .errors import ValidationError
from .money import MINOR_UNITS, minor_digits, parse_money
from .parsing import INT64_MAX, INT64_MIN, parse_date, parse_datetime

DEFAULT_CURRENCY = "CNY"
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
INDEXABLE = frozenset({"option", "string", "date", "date-time", "email", "uri", "phone", "enum", "integer", "number", "money", "boolean", "reference"})
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{3,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
#: The longest text a field takes when its definition names no ``maxLength``, by kind.
DEFAULT_MAX_LENGTH = {"string": 500, "email": 254, "uri": 2000, "phone": 40}


# -- value checks shared by the compiled validator and the jsonschema format checker --


def is_phone(value: object) -> bool:
    return not isinstance(value, str) or (bool(_PHONE.match(value)) and sum(ch.isdigit() for ch in value) >= 5)


def money_validator(currency: str, minimum: Any = None, maximum: Any = None) -> AfterValidator:
    """A money field's check: a decimal string (or an exact JSON number) in, the stored decimal string out."""
    return AfterValidator(money_check(currency, minimum, maximum))


def money_check(currency: str, minimum: Any = None, maximum: Any = None) -> Any:
    """:func:`money_validator`'s function: the stored decimal string, or a ``ValueError`` saying why not."""

    lowest = None if minimum is None else Decimal(str(minimum))
    highest = None if maximum is None else Decimal(str(maximum))

    def check(value: Any) -> str:
        amount = parse_money(value, currency)
        if lowest is not None and amount < lowest:
            raise ValueError("must not be negative" if lowest == 0 else f"must be at least {minimum}")
        if highest is not None and amount > highest:
            raise ValueError(f"must be at most {maximum}")
        return format(amount, "f")

    return check


def _parses(parse: Any) -> Any:
    def check(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            parse(value)
        except ValueError:
            return False
        return True

    return check


@lru_cache(maxsize=512)
def _pattern_checker(pattern: str) -> TypeAdapter[str]:
    """A validator matching ``pattern`` in linear time (pydantic-core's regex engine, which never backtracks)."""
    return TypeAdapter(Annotated[str, Field(pattern=pattern)])


def pattern_matches(pattern: str, value: str) -> bool:
    """Whether ``value`` contains a match of an admin's ``pattern`` (JSON Schema semantics), in linear time.

    An admin's pattern never reaches Python's backtracking ``re`` with a user's value:
    ``^(a+)+$`` against 30 ``a`` and a ``!`` would take minutes there.
    """
    try:
        _pattern_checker(pattern).validate_python(value)
    except PydanticError:
        return False
    return True


def _is_regex(value: object) -> bool:
    """A pattern the linear engine compiles (no look-around, no back-references)."""
    if not isinstance(value, str):
        return True
    try:
        _pattern_checker(value)
    except Exception:  # pydantic_core.SchemaError: the engine cannot build it
        return False
    return True


def _linear_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    """jsonschema's ``pattern`` keyword, matched by :func:`pattern_matches` instead of ``re.search``."""
    if validator.is_type(instance, "string") and not pattern_matches(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


#: The kernel's own format checks, so that jsonschema (which words the errors) and the
#: compiled validator (which decides) agree, without jsonschema's optional format packages.
FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
for _name, _check_format in {
    "date": _parses(lambda v: normal_date(v)),
    "date-time": _parses(lambda v: normal_datetime(v)),
    "email": lambda v: not isinstance(v, str) or bool(_EMAIL.match(v)),
    "uri": lambda v: not isinstance(v, str) or bool(_URI.match(v)),
    "phone": is_phone,
    "reference": lambda v: not isinstance(v, int) or isinstance(v, bool) or v > 0,
    "regex": _is_regex,
}.items():
    FORMAT_CHECKER.checks(_name)(_check_format)

#: Draft 2020-12 with the pattern keyword matched in linear time: the only validator that sees values.
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _linear_pattern})


def _check(predicate: Any, message: str) -> AfterValidator:
    def check(value: Any) -> Any:
        if not predicate(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def normal_date(value: str) -> str:
    """``YYYY-MM-DD`` within the calendar (see :mod:`kernel.parsing`); a ``ValueError`` otherwise."""
    try:
        return parse_date(value, []).isoformat()
    except ValidationError as exc:
        raise ValueError(exc.details[0]["msg"]) from None


def normal_datetime(value: str) -> str:
    """RFC 3339 in, UTC with milliseconds out, so that stored text sorts by time."""
    try:
        moment = parse_datetime(value, [])
    except ValidationError as exc:
        raise ValueError(exc.details[0]["msg"]) from None
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


# -- definitions ----------------------------------------------------------------


def field_kind(schema: dict[str, Any]) -> str:
    """The kind of a (valid) definition: string formats are their own kinds, e.g. ``date``."""
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        if "x-options" in schema:  # a choice from an option list (kernel.optionlists)
            return "option"
        return "enum" if "enum" in schema else (fmt or "string")
    if kind == "array":
        return "multi_enum"
    if kind == "integer":
        return "reference" if fmt == "reference" else "integer"
    if kind == "number":
        return "money" if fmt == "money" else "number"
    return str(kind)


def check_definition(name: str, schema: Any) -> str:
    """Refuse a bad field name or schema with a :class:`ValidationError`; return the field's kind."""
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        raise ValidationError.at(["name"], "must start with a-z and hold only a-z, 0-9 and _ (at most 40 characters)")
    if not isinstance(schema, dict):
        raise ValidationError.at(["schema"], "must be a JSON object (a JSON Schema fragment)")
    meta = schemas.load("custom_field")
    branch = {"string": "string", "array": "multi_enum", "integer": "integer", "number": "number", "boolean": "boolean"}
    declared = schema.get("type")
    if declared not in branch:
        raise ValidationError.at(["schema", "type"], f"must be one of {', '.join(branch)}")
    kind = field_kind(schema)
    sub = {"date": "string", "date-time": "string", "email": "string", "uri": "string", "phone": "string"}.get(kind, kind)
    if sub not in meta["$defs"]:
        sub = branch[declared]
    validator = Validator(
        {**meta["$defs"][sub], "$defs": meta["$defs"]}, format_checker=FORMAT_CHECKER
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(schema))
    if error is not None:
        loc = ["schema", *map(str, error.path)]
        if error.validator == "format" and error.validator_value == "regex":
            _raise(loc, "is not a pattern this server can use (look-around and back-references are not supported)")
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            return _raise(loc, f"has keys this kind of field does not support; allowed: {', '.join(allowed)}")
        _raise(loc, error.message)
    if kind == "money" and "x-currency" in schema and schema["x-currency"] not in MINOR_UNITS:
        _raise(["schema", "x-currency"], f"is not a currency this server knows ({', '.join(sorted(MINOR_UNITS))})")
    if schema.get("minimum", 0) > schema.get("maximum", float("inf")):
        _raise(["schema", "minimum"], "is larger than maximum")
    if "default" in schema:
        check_default(name, schema)
    return kind


def check_default(name: str, schema: dict[str, Any]) -> None:
    """A definition's ``default`` must be a value the field itself accepts."""
    probe = FieldSet("?", [CustomField("?", name, {k: v for k, v in schema.items() if k != "default"})])
    try:
        probe.validate({name: schema["default"]})
    except ValidationError as exc:
        _raise(["schema", "default"], str(exc.details[0]["msg"]) if exc.details else exc.message)


def _raise(loc: list[str], msg: str) -> Any:
    raise ValidationError.at(loc, msg)


@dataclass(frozen=True)
class CustomField:
    """One custom field of one entity, as stored in ``kernel_custom_fields``."""

    entity: str
    name: str
    schema: dict[str, Any]
    label: dict[str, str] = field(default_factory=dict)
    indexed: bool = False
    version: int = 1

    @cached_property
    def kind(self) -> str:
        return field_kind(self.schema)

    @property
    def currency(self) -> str:
        """A money field's ISO 4217 code (named when the field was added; CNY for fields older than that)."""
        return str(self.schema.get("x-currency", DEFAULT_CURRENCY))

    @property
    def required(self) -> bool:
        return bool(self.schema.get("x-required"))

    @property
    def max_length(self) -> int | None:
        """The longest text the field takes: its ``maxLength``, else :data:`DEFAULT_MAX_LENGTH` of its kind."""
        if self.kind not in DEFAULT_MAX_LENGTH:
            return None
        return int(self.schema.get("maxLength") or DEFAULT_MAX_LENGTH[self.kind])

    @property
    def minimum(self) -> Any:
        """The smallest value taken; a money field without one refuses negative amounts (0)."""
        if self.kind == "money":
            return self.schema.get("minimum", 0)
        return self.schema.get("minimum")

    @property
    def value_schema(self) -> dict[str, Any]:
        """The JSON Schema of the field's values: a money field's are decimal strings."""
        if self.kind != "money":
            limit = self.max_length
            return {**self.schema, "maxLength": limit} if limit else self.schema
        digits = minor_digits(self.currency)
        pattern = rf"^-?[0-9]{{1,18}}(\.[0-9]{{1,{digits}}})?$" if digits else r"^-?[0-9]{1,18}$"
        extra = {k: self.schema[k] for k in ("title", "description") if k in self.schema}
        return {"type": "string", "format": "money", "x-currency": self.currency, "pattern": pattern, **extra}

    def value_type(self) -> Any:
        """The annotated Python type the compiled validator checks a value against."""
        s, kind = self.schema, self.kind
        bounds = {k: v for k, v in (("ge", s.get("minimum")), ("le", s.get("maximum"))) if v is not None}
        if kind == "integer":  # within 64 bits whatever the schema says: PostgreSQL reads it as bigint
            wide = {"ge": max(bounds.get("ge", INT64_MIN), INT64_MIN), "le": min(bounds.get("le", INT64_MAX), INT64_MAX)}
            return Annotated[int, Strict(), Field(**wide)]
        if kind == "reference":
            return Annotated[int, Strict(), Field(ge=1, le=INT64_MAX)]
        if kind == "money":
            return Annotated[Any, money_validator(self.currency, self.minimum, s.get("maximum"))]
        if kind == "number":
            return Annotated[float, Strict(), Field(allow_inf_nan=False, **bounds)]
        if kind == "boolean":
            return Annotated[bool, Strict()]
        if kind == "enum":
            return Literal[tuple(s["enum"])]  # type: ignore[misc]
        if kind == "option":  # checked against the list's live codes by kernel.optionlists.clean
            return Annotated[str, Strict(), Field(min_length=1, max_length=120)]
        if kind == "multi_enum":
            unique = _check(lambda items: len(items) == len(set(items)), "has duplicate items")
            sizes = {k: v for k, v in (("min_length", s.get("minItems")), ("max_length", s.get("maxItems"))) if v is not None}
            if "x-options" in s["items"]:  # codes of an option list, checked by kernel.optionlists.clean
                return Annotated[list[Annotated[str, Strict(), Field(min_length=1, max_length=120)]], Field(**sizes), unique]
            return Annotated[list[Literal[tuple(s["items"]["enum"])]], Field(**sizes), unique]  # type: ignore[misc]
        text = {k: v for k, v in (("min_length", s.get("minLength")), ("max_length", self.max_length), ("pattern", s.get("pattern"))) if v is not None}
        checks = {
            "date": [AfterValidator(normal_date)],
            "date-time": [AfterValidator(normal_datetime)],
            "email": [_check(_EMAIL.match, "is not an email address")],
            "uri": [_check(_URI.match, "is not a URI (e.g. https://example.com)")],
            "phone": [_check(is_phone, "is not a phone number")],
        }.get(kind, [])
        return Annotated[str, Strict(), Field(**text), *checks]

    def as_public(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "label": self.label, "indexed": self.indexed, "kind": self.kind}


class FieldSet:
    """The active custom fields of one entity, with their compiled validator."""

    def __init__(self, entity: str, fields: list[CustomField]):
        self.entity = entity
        self.fields = {f.name: f for f in fields}

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __getitem__(self, name: str) -> CustomField:
        return self.fields[name]

    @cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        annotations = {name: Optional[f.value_type()] for name, f in self.fields.items()}  # noqa: UP045
        shape = TypedDict(f"{self.entity}_custom", annotations, total=False)  # type: ignore[operator]
        shape.__pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[attr-defined]
        return TypeAdapter(shape)

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """The ``custom`` object as one JSON Schema (null clears a value)."""
        return {
            "type": "object",
            "properties": {name: {"anyOf": [f.value_schema, {"type": "null"}]} for name, f in self.fields.items()},
            "additionalProperties": False,
        }

    def validate(self, values: Any) -> dict[str, Any]:
        """Check ``values`` (the record's ``custom`` object); return them normalized.

        ``None`` values are kept: they mean "clear this field". Raises
        :class:`ValidationError` with one detail per wrong field, located at
        ``["custom", name]``.

        Values of the common kinds are first checked in plain Python (:meth:`_quick`, what the compiled
        validator would answer for values it accepts); anything those checks do not accept, and every
        error, goes through the compiled validator, so errors are worded as they always were.
        """
        if not isinstance(values, dict):
            raise ValidationError.at(["custom"], "must be an object")
        quick = self._quick(values)
        if quick is not None:
            return quick
        try:
            return self._adapter.validate_python(values)  # type: ignore[no-any-return]
        except PydanticError as exc:
            raise self._explain(values, exc) from None

    def _quick(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """``values`` as the compiled validator returns them (in the fields' order, ``None`` kept), or
        ``None`` when a value is not one the plain checks (:func:`quick_check`) accept."""
        checks = self._checks
        if not values.keys() <= checks.keys():
            return None
        checked: dict[str, Any] = {}
        for name, check in checks.items():
            if name in values:
                value = values[name]
                if value is not None:
                    if check is None:
                        return None
                    value = check(value)
                    if value is _REFUSED:
                        return None
                checked[name] = value
        return checked

    @cached_property
    def _checks(self) -> dict[str, Any]:
        """Each field's plain check (``None`` for a kind that has none), in the fields' order."""
        return {name: quick_check(f) for name, f in self.fields.items()}

    def complete(self, values: dict[str, Any]) -> dict[str, Any]:
        """A new record's ``custom`` object with each field's ``default`` where nothing was sent;
        a required field (``x-required``) still without a value is refused, naming it."""
        completed = dict(values)
        for name, default in self._defaults:
            if completed.get(name) is None:
                completed[name] = default
        self.refuse_missing(completed, self._required)
        return completed

    @cached_property
    def _defaults(self) -> tuple[tuple[str, Any], ...]:
        """``(name, default)`` of the fields that have one: worked out once, not per record (an import asks a million times)."""
        return tuple((name, f.schema["default"]) for name, f in self.fields.items() if "default" in f.schema)

    @cached_property
    def _required(self) -> list[str]:
        return [name for name, f in self.fields.items() if f.required]

    def refuse_missing(self, values: dict[str, Any], names: list[str]) -> None:
        """Refuse an empty value for any required field among ``names``."""
        details = [{"loc": ["custom", name], "msg": "is required"} for name in names
                   if name in self.fields and self.fields[name].required and values.get(name) in (None, "", [])]
        if details:
            raise ValidationError(f"custom.{details[0]['loc'][1]}: is required", details)

    def _explain(self, values: dict[str, Any], exc: PydanticError) -> ValidationError:
        details: list[dict[str, Any]] = []
        validator = Validator(self.json_schema, format_checker=FORMAT_CHECKER)
        for error in validator.iter_errors(values):
            if error.validator == "additionalProperties":
                for name in sorted(set(error.instance) - set(self.fields)):
                    details.append({"loc": ["custom", name], "msg": f"unknown custom field for {self.entity}"})
                continue
            loc = ["custom", *error.absolute_path]
            name = loc[1] if len(loc) > 1 else None
            field_ = self.fields.get(str(name)) if name is not None else None
            if field_ is not None and field_.kind == "money":
                continue  # its own check words it better (decimals of its currency): below
            msg = _jsonschema_message(error, field_)
            details.append({"loc": loc, "msg": msg, **messages.jsonschema_reason(error, field_.kind if field_ else None)})
        money = {n for n, f in self.fields.items() if f.kind == "money"}
        for error in exc.errors():
            if error["loc"] and error["loc"][0] in money:
                msg = error["msg"].removeprefix("Value error, ")
                details.append({"loc": ["custom", error["loc"][0]], "msg": msg, **messages.money_reason(msg)})
        if not details:  # jsonschema accepted what the compiled validator refused: use pydantic's words
            for error in exc.errors():
                loc = ["custom", *(part for part in error["loc"] if not str(part).startswith(("function-", "literal", "lax", "strict", "union")))]
                details.append({"loc": loc[:3], "msg": error["msg"].removeprefix("Value error, ")})
        first = details[0]
        return ValidationError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", details)


#: What a plain check answers for a value it does not accept (the compiled validator then judges it).
_REFUSED = object()
_TEXT_CHECKS: dict[str, Any] = {
    "string": None,
    "date": normal_date,
    "date-time": normal_datetime,
    "email": lambda value: value if _EMAIL.match(value) else _REFUSED,
    "uri": lambda value: value if _URI.match(value) else _REFUSED,
    "phone": lambda value: value if is_phone(value) else _REFUSED,
}


def quick_check(field_: CustomField) -> Any:
    """A function giving what :meth:`CustomField.value_type`'s validator gives for a value it accepts,
    and :data:`_REFUSED` for any other value (also for some valid ones: the validator then decides);
    ``None`` for the kinds without one (patterns, multi-selects). ``tests/test_customfields_quick.py``
    compares both over many values."""
    s, kind = field_.schema, field_.kind
    low, high = s.get("minimum"), s.get("maximum")
    if kind in ("integer", "reference"):
        lo = max(INT64_MIN if low is None else low, INT64_MIN) if kind == "integer" else 1
        hi = min(INT64_MAX if high is None else high, INT64_MAX)
        return lambda value: value if type(value) is int and lo <= value <= hi else _REFUSED
    if kind == "boolean":
        return lambda value: value if type(value) is bool else _REFUSED
    if kind == "money":
        money = money_check(field_.currency, field_.minimum, high)

        def amount(value: Any) -> Any:
            try:
                return money(value)
            except (ValueError, AssertionError):
                return _REFUSED
        return amount
    if kind == "number":
        def number(value: Any) -> Any:
            if type(value) is not float or not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
                return _REFUSED
            return value
        return number
    if kind == "enum":
        choices = frozenset(s["enum"])
        if not all(type(choice) is str for choice in choices):
            return None
        return lambda value: value if type(value) is str and value in choices else _REFUSED
    if kind == "option":
        return lambda value: value if type(value) is str and 1 <= len(value) <= 120 else _REFUSED
    if kind not in _TEXT_CHECKS or "pattern" in s:
        return None
    shortest, longest, then = s.get("minLength") or 0, field_.max_length or sys.maxsize, _TEXT_CHECKS[kind]

    def text(value: Any) -> Any:
        if type(value) is not str or not shortest <= len(value) <= longest:
            return _REFUSED
        if then is None:
            return value
        try:
            return then(value)
        except ValueError:
            return _REFUSED
    return text


def _jsonschema_message(error: jsonschema.ValidationError, field_: CustomField | None) -> str:
    if error.validator == "anyOf" and field_ is not None:
        best = jsonschema.exceptions.best_match(
            Validator(field_.value_schema, format_checker=FORMAT_CHECKER).iter_errors(error.instance)
        )
        if best is not None:
            return _worded(best)
        return "is not valid"
    return _worded(error)


def _worded(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, without quoting a long value back."""
    if error.validator == "maxLength":
        return f"is too long: at most {error.validator_value} characters (it has {len(error.instance)})"
    return str(error.message)


# -- SQL -----------------------------------------------------------------------------

_PG_CASTS = {"integer": "bigint", "reference": "bigint", "number": "numeric", "money": "numeric", "boolean": "boolean"}


def expression_sql(field_: CustomField, dialect: str) -> str:
    """The SQL text for a field's value; identical in queries and in its index."""
    if dialect == "postgresql":
        text = f"(custom ->> '{field_.name}')"
        cast = _PG_CASTS.get(field_.kind)
        return f"({text}::{cast})" if cast else text
    if field_.kind == "money":  # stored as decimal text: compared as numbers, "100.00" > "99.50"
        return f"CAST(json_extract(custom, '$.{field_.name}') AS NUMERIC)"
    return f"json_extract(custom, '$.{field_.name}')"


def field_expression(field_: CustomField, dialect: str) -> sa.ColumnElement[Any]:
    """A column expression for filtering and sorting on ``field_`` (names are checked, never quoted in)."""
    assert FIELD_NAME.match(field_.name)
    return sa.literal_column(expression_sql(field_, dialect))


def contains_expression(field_: CustomField, dialect: str, value: str) -> sa.ColumnElement[bool]:
    """For a multi-select field: the record's list contains ``value``."""
    assert FIELD_NAME.match(field_.name)
    if dialect == "postgresql":
        return sa.literal_column(f"(custom -> '{field_.name}')").op("?")(sa.bindparam(None, value, type_=sa.String))
    each = sa.func.json_each(sa.literal_column("custom"), f"$.{field_.name}").table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == value))


def index_name(table: str, name: str) -> str:
    return f"cfx_{table}_{name}"[:63]


def create_index_sql(table: str, field_: CustomField, dialect: str, *, concurrently: bool = True) -> str:
    """``concurrently`` (PostgreSQL): outside a transaction, without blocking writers; a restore
    builds its indexes inside its transaction instead."""
    assert FIELD_NAME.match(field_.name)
    expr = expression_sql(field_, dialect)
    if dialect == "postgresql":  # (expr, id) lets ORDER BY expr, id be read from the index
        how = " CONCURRENTLY" if concurrently else ""
        return f'CREATE INDEX{how} IF NOT EXISTS "{index_name(table, field_.name)}" ON "{table}" ({expr}, id)'
    return f'CREATE INDEX IF NOT EXISTS "{index_name(table, field_.name)}" ON "{table}" ({expr})'


def drop_index_sql(table: str, name: str, dialect: str, *, concurrently: bool = True) -> str:
    assert FIELD_NAME.match(name)
    how = " CONCURRENTLY" if dialect == "postgresql" and concurrently else ""
    return f'DROP INDEX{how} IF EXISTS "{index_name(table, name)}"'


def purge_sql(table: sa.Table, name: str, dialect: str) -> sa.Update:
    """Remove one key from every record's ``custom`` object."""
    assert FIELD_NAME.match(name)
    custom = table.c.custom
    if dialect == "postgresql":
        return sa.update(table).values(custom=sa.literal_column(f"custom - '{name}'", type_=custom.type))
    return sa.update(table).values(custom=sa.func.json_remove(custom, f"$.{name}", type_=custom.type))
