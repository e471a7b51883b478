"""Aggregates: how many, how much, per what — in one SQL statement under the actor's record rules.

``site.records.aggregate(actor, "E", group_by=["owner_id", "created_at:month"],
measures=["count", "sum:amount"], filters={"status": "open"})`` groups the rows
``actor`` may see (the same conditions as a list: role scope, record rules, the
list's filter syntax) and measures each group:

* measures: ``count``, ``count_distinct:F``, ``sum:F``, ``avg:F``, ``min:F``, ``max:F``;
* group by a built-in or custom field; a reference (``*_id``, a custom reference field)
  is labelled by the referenced record's title when ``actor`` may read that record;
  a date or moment by ``F:day|week|month|quarter|year`` (weeks start on Monday), a
  moment's bucket computed in the site's time zone (or ``time_zone``), a bucket's key
  being its first day (``"2026-02-01"``).

Fields masked for ``actor`` (:mod:`kernel.masking`): masked records form a group of their own
(key ``null``, labelled Hidden, ``"masked": true``) when grouped by a masked field, and a measure
of a masked field leaves them out.

Money stays exact: sums of a :class:`~kernel.db.Money` column or a money custom field
are ``Decimal`` on both databases, averages are rounded half-up to the amount's decimals.
Amounts of different currencies are never added: when the entity's table has a
``currency`` column, a money measure splits every group by currency (each group then
carries ``"currency"``); a money custom field has one currency, named in its definition.

Limits: on SQLite (no time-zone database) a moment is shifted by the zone's UTC offsets
from 2000 to 2060; a custom money field's amounts are summed in minor units as 64-bit
integers (exact up to about 9×10¹⁵ minor units per group).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from . import masking, timezones
from .db import Money
from .entities import title_column
from .errors import Forbidden, ValidationError
from .money import minor_digits

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor, Records
    from .site import View

BUCKETS = ("day", "week", "month", "quarter", "year")
FUNCTIONS = ("count", "count_distinct", "sum", "avg", "min", "max")
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
#: The column that names the currency of an entity's Money columns, when it has one.
CURRENCY_COLUMN = "currency"
NONE_LABEL = {"en": "(none)", "zh_CN": "（未填）"}


@dataclass(frozen=True)
class Aggregate:
    """The answer of :meth:`Records.aggregate`: ``groups`` in key order, and whether more
    groups than ``limit`` matched (``truncated``: only the first ``limit`` are given)."""

    groups: list[dict[str, Any]]
    truncated: bool = False


@dataclass
class _Field:
    """One field as the aggregate sees it: its SQL, what it is, and where a reference points."""

    name: str
    expression: Any
    kind: str  # integer, number, string, boolean, date, moment, money, money_custom, reference, json_text...
    scale: int = 0  # decimals of a money field
    target: str | None = None  # the entity a reference names
    labels: dict[str, Any] = field(default_factory=dict)  # enum value -> {"en", "zh_CN"}
    colours: dict[str, str] = field(default_factory=dict)  # option code -> "#rrggbb" (an option list's)


def _loc(param: str, index: int, count: int) -> list[Any]:
    return ["query", param] if count == 1 else ["query", param, index]


class Aggregation:
    """Builds and runs one aggregate statement for one entity."""

    def __init__(self, records: Records, view: View, actor: Actor, entity: Entity, tz: ZoneInfo, locale: str):
        from .records import Query

        self.records, self.view, self.actor, self.entity = records, view, actor, entity
        self.dialect = records.site.engine.dialect.name
        self.fields = view.fields(entity.name)
        self.masks = masking.for_actor(records.site, view, actor, entity)
        self.query = Query(entity, self.fields, self.dialect, self.masks)
        self.tz, self.locale = tz, locale

    # -- fields ---------------------------------------------------------------------------

    def field(self, name: str, loc: list[Any]) -> _Field:
        from .fielddescriptions import reference_target

        table = self.entity.table
        if name in self.entity.columns and name != "custom":
            column = table.c[name]
            if self.masks and name in self.masks.fields:  # NULL on masked rows: out of sums, min, max
                column = sa.type_coerce(self.masks.expression(name, column), column.type)
            info = self.entity.fields.model_fields.get(name)
            extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
            labels = extra.get("x-labels") if isinstance(extra.get("x-labels"), dict) else {}
            listed = self.view.option_lists.get(extra.get("x-options") or "")
            if listed is not None:  # an option list: grouped by code, labelled by the option's label
                return _Field(name, column, "string", labels=listed.labels, colours=listed.colours)
            if isinstance(column.type, Money):
                return _Field(name, column, "money", scale=column.type.scale)
            kind = _column_kind(column.type)
            target = reference_target(self.view, self.entity, name, extra) if name.endswith("_id") or name == self.entity.owner_field else None
            return _Field(name, column, "reference" if target else kind, target=target, labels=labels)
        if name in self.fields:
            custom = self.fields[name]
            if custom.kind == "multi_enum":
                raise ValidationError.at(loc, f"cannot group or measure by the multi-select field {name!r}")
            expression = self.query.column(name, loc[1])[0]
            labels = custom.schema.get("x-labels") if isinstance(custom.schema.get("x-labels"), dict) else {}
            if custom.kind == "option":
                listed = self.view.option_lists.get(custom.schema["x-options"])
                labels = listed.labels if listed is not None else {}
                return _Field(name, expression, "string", labels=labels, colours=listed.colours if listed is not None else {})
            kind = {"date-time": "moment_text", "date": "date_text", "money": "money_custom", "boolean": "boolean"}.get(custom.kind, custom.kind)
            if kind == "reference":
                return _Field(name, expression, kind, target=custom.schema.get("x-entity"))
            if kind == "money_custom":
                return _Field(name, expression, kind, scale=minor_digits(custom.currency))
            return _Field(name, expression, kind, labels=labels)
        raise ValidationError.at(loc, f"unknown field {name!r} for {self.entity.name}")

    # -- group keys -----------------------------------------------------------------------

    def group_key(self, text: str, loc: list[Any]) -> tuple[_Field, str | None, Any]:
        name, _, bucket = text.strip().partition(":")
        found = self.field(name, loc)
        if bucket:
            if bucket not in BUCKETS:
                raise ValidationError.at(loc, f"unknown date bucket {bucket!r}; use one of {', '.join(BUCKETS)}")
            if found.kind not in ("moment", "moment_text", "date", "date_text"):
                raise ValidationError.at(loc, f"{name!r} is not a date or a moment: it has no {bucket}")
            return found, bucket, self.bucket(found, bucket)
        if found.kind in ("moment", "moment_text"):
            raise ValidationError.at(loc, f"{name!r} is a moment: group it by {name}:day, :week, :month, :quarter or :year")
        return found, None, found.expression

    def bucket(self, found: _Field, bucket: str) -> sa.ColumnElement[str]:
        """The first day of ``found``'s bucket as ``YYYY-MM-DD`` text, moments taken in the zone."""
        moment = found.kind in ("moment", "moment_text")
        expression = found.expression
        if self.dialect == "postgresql":
            if moment:
                if found.kind == "moment_text":
                    expression = sa.cast(expression, sa.DateTime(timezone=True))
                local = sa.func.timezone(_sql_text(self.tz.key), expression)
            else:
                local = sa.cast(expression, sa.Date) if found.kind == "date_text" else expression
            return sa.func.to_char(sa.func.date_trunc(_sql_text(bucket), local), _sql_text("YYYY-MM-DD"))
        local = _sqlite_local(expression, self.tz) if moment else expression
        return _sqlite_bucket(local, bucket)

    # -- measures -------------------------------------------------------------------------

    def measure(self, text: str, loc: list[Any]) -> tuple[str, _Field | None, list[sa.ColumnElement[Any]]]:
        text = text.strip()
        if text == "count":
            return "count", None, [sa.func.count()]
        function, _, name = text.partition(":")
        if function not in FUNCTIONS or not name:
            raise ValidationError.at(loc, f"unknown measure {text!r}; use count, count_distinct:F, sum:F, avg:F, min:F or max:F")
        found = self.field(name, loc)
        value = found.expression
        if found.kind == "money_custom" and self.dialect == "sqlite":  # decimal text: whole minor units, summed exactly
            value = sa.cast(sa.func.round(value * (10**found.scale)), sa.BigInteger)
        if function == "count_distinct":
            return text, found, [sa.func.count(sa.distinct(value))]
        if function in ("sum", "avg") and found.kind not in ("integer", "number", "money", "money_custom"):
            raise ValidationError.at(loc, f"{name!r} is not a number: it has no {function}")
        if function in ("min", "max") and found.kind in ("boolean", "json_text", "object", "array"):
            raise ValidationError.at(loc, f"{name!r} has no {function}")
        if function == "avg":  # the sum and the count of values: an exact mean, rounded once
            return text, found, [sa.func.sum(value), sa.func.count(value)]
        return text, found, [getattr(sa.func, function)(value)]

    # -- the statement --------------------------------------------------------------------

    def run(self, conn: sa.Connection, group_by: list[str], measures: list[str], filters: dict[str, Any], limit: int) -> Aggregate:
        groups = [self.group_key(text, _loc("group_by", i, len(group_by))) for i, text in enumerate(group_by)]
        asked = [self.measure(text, _loc("measure", i, len(measures))) for i, text in enumerate(measures or ["count"])]
        keys = [expression.label(f"k{i}") for i, (_, _, expression) in enumerate(groups)]
        money_columns = any(found is not None and found.kind == "money" for _, found, _ in asked)
        by_currency = money_columns and CURRENCY_COLUMN in self.entity.columns
        if by_currency:
            keys.append(self.entity.table.c[CURRENCY_COLUMN].label("currency"))
        if self.masks:  # masked records make a group of their own, whatever their value
            keys.extend(self.masks.fields[found.name].label(f"x{i}") for i, (found, _, _) in enumerate(groups) if found.name in self.masks.fields)
        values = [part.label(f"m{i}_{j}") for i, (_, _, parts) in enumerate(asked) for j, part in enumerate(parts)]
        conditions = [*self.query.filters(filters), *self.records._visible(self.view, self.actor, self.entity)]
        inner = sa.select(*keys, *values).select_from(self.entity.table).where(*conditions)
        if keys:
            inner = inner.group_by(*keys)
        references = [(i, found.target) for i, (found, bucket, _) in enumerate(groups) if found.target and not bucket]
        if references:  # titles are looked up for the groups only: the grouped rows as a subquery
            grouped = inner.subquery("g")
            titles = [self.title(grouped.c[f"k{i}"], target, f"t{i}") for i, target in references]
            order = [grouped.c[key.name].asc().nulls_last() for key in keys]
            statement = sa.select(grouped, *[t for t in titles if t is not None]).order_by(*order).limit(limit + 1)
        else:
            statement = inner.order_by(*[key.asc().nulls_last() for key in keys]).limit(limit + 1)
        rows = conn.execute(statement).mappings().all()
        result = [self.group(dict(row), groups, asked, by_currency) for row in rows[:limit]]
        return Aggregate(result, truncated=len(rows) > limit)

    def title(self, key: sa.ColumnElement[Any], target_name: str | None, label: str) -> sa.ColumnElement[Any] | None:
        """The referenced record's title, only when ``actor`` may read it (else the key shows as ``#id``)."""
        target = self.view.entities.get(target_name or "")
        column = title_column(target) if target is not None else None
        if target is None or column is None:
            return None
        try:
            self.records._authorize(self.view, self.actor, target, "read", None)
        except Forbidden:
            return None
        visible = self.records._visible(self.view, self.actor, target)
        table = target.table
        return sa.select(table.c[column]).where(table.c.id == key, *visible).scalar_subquery().label(label)

    def group(self, row: Any, groups: list[tuple[_Field, str | None, Any]], asked: list[Any], by_currency: bool) -> dict[str, Any]:
        keys, labels = [], []
        for i, (found, bucket, _) in enumerate(groups):
            key = row[f"k{i}"]
            if row.get(f"x{i}"):
                keys.append(None)
                labels.append(masking.HIDDEN.get(self.locale, masking.HIDDEN["en"]))
                continue
            if found.kind in ("money", "money_custom") and key is not None:
                key = Decimal(str(key)).quantize(Decimal(1).scaleb(-found.scale))
            keys.append(key)
            labels.append(self.label(found, bucket, key, row.get(f"t{i}")))
        out: dict[str, Any] = {"key": keys[0] if len(keys) == 1 else keys, "label": labels[0] if len(labels) == 1 else labels}
        if not groups:
            out = {"key": None, "label": None}
        elif len(groups) == 1 and groups[0][0].colours.get(str(keys[0])):
            out["colour"] = groups[0][0].colours[str(keys[0])]
        if any(row.get(f"x{i}") for i in range(len(groups))):
            out["masked"] = True
        if by_currency:
            out["currency"] = row["currency"]
        for i, (name, found, parts) in enumerate(asked):
            got = [row[f"m{i}_{j}"] for j in range(len(parts))]
            out[name] = _value(name, found, got, self.dialect)
        return out

    def label(self, found: _Field, bucket: str | None, key: Any, title: Any) -> str:
        if key is None:
            return NONE_LABEL.get(self.locale, NONE_LABEL["en"])
        if bucket:
            return _bucket_label(str(key), bucket)
        if found.target:
            return str(title) if title not in (None, "") else f"#{key}"
        labels = found.labels.get(str(key)) if found.labels else None
        if isinstance(labels, dict):
            return str(labels.get(self.locale) or labels.get("en") or key)
        return str(key)


def aggregate(
    records: Records,
    actor: Actor,
    entity_name: str,
    *,
    group_by: list[str] | tuple[str, ...] = (),
    measures: list[str] | tuple[str, ...] = ("count",),
    filters: dict[str, Any] | None = None,
    time_zone: str | None = None,
    locale: str | None = None,
    limit: int = DEFAULT_LIMIT,
    conn: sa.Connection | None = None,
) -> Aggregate:
    """See :meth:`kernel.records.Records.aggregate`."""
    view = records.site.view
    entity = records._entity(view, entity_name)
    records._authorize(view, actor, entity, "read", None)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.at(["query", "limit"], f"must be between 1 and {MAX_LIMIT}")
    try:
        tz = timezones.zone(time_zone) if time_zone is not None else timezones.site_zone(records.site)
    except ValueError:
        raise ValidationError.at(["query", "time_zone"], f"must be {timezones.ZONE_HINT}") from None
    for param, items in (("group_by", group_by), ("measure", measures)):
        if isinstance(items, str) or not all(isinstance(item, str) and item.strip() for item in items):
            raise ValidationError.at(["query", param], "must be a list of non-empty names")
    if len(group_by) > 4:
        raise ValidationError.at(["query", "group_by"], "at most 4 fields")
    aggregation = Aggregation(records, view, actor, entity, tz, locale or records.site.settings.default_locale)
    with records._reading(conn) as tx:
        return aggregation.run(tx, list(group_by), list(measures), dict(filters or {}), limit)


# -- SQL pieces -----------------------------------------------------------------------------


def _sql_text(value: str) -> sa.ColumnElement[str]:
    """A constant from a fixed set or a checked zone name, written into the SQL rather than bound:
    the same expression then appears identically in SELECT and GROUP BY (PostgreSQL compares them)."""
    assert "'" not in value
    return sa.literal_column(f"'{value}'", sa.String)


def _sqlite_local(expression: Any, tz: ZoneInfo) -> sa.ColumnElement[str]:
    """``expression`` (a UTC moment) as local ``YYYY-MM-DD HH:MM:SS`` text in ``tz`` on SQLite."""
    first, changes = timezones.offsets(tz)

    def shifted(offset: Any) -> sa.ColumnElement[str]:
        return sa.func.datetime(expression, _sql_text(f"{int(offset.total_seconds()):+d} seconds"))

    if not changes:
        return shifted(first)
    moment = sa.func.datetime(expression)
    whens, offset = [], first
    for at, new in changes:
        whens.append((moment < _sql_text(at.strftime("%Y-%m-%d %H:%M:%S")), shifted(offset)))
        offset = new
    return sa.case(*whens, else_=shifted(offset))


def _sqlite_bucket(local: Any, bucket: str) -> sa.ColumnElement[str]:
    if bucket == "day":
        return sa.func.date(local)
    if bucket == "week":  # to the next Sunday (or stay), then back six days: Monday
        return sa.func.date(local, _sql_text("weekday 0"), _sql_text("-6 days"))
    if bucket == "month":
        return sa.func.strftime(_sql_text("%Y-%m-01"), local)
    if bucket == "year":
        return sa.func.strftime(_sql_text("%Y-01-01"), local)
    month = sa.cast(sa.func.strftime(_sql_text("%m"), local), sa.Integer)
    first = (month + 2) // 3 * 3 - 2
    return sa.func.printf(_sql_text("%s-%02d-01"), sa.func.strftime(_sql_text("%Y"), local), first)


def _bucket_label(key: str, bucket: str) -> str:
    if bucket == "month":
        return key[:7]
    if bucket == "year":
        return key[:4]
    if bucket == "quarter":
        return f"{key[:4]}-Q{(int(key[5:7]) + 2) // 3}"
    if bucket == "week":
        from datetime import date

        year, week, _ = date.fromisoformat(key).isocalendar()
        return f"{year}-W{week:02d}"
    return key


def _column_kind(column_type: sa.types.TypeEngine[Any]) -> str:
    from .records import _column_kind as kind_of

    return {"column_datetime": "moment", "column_date": "date"}.get(kind_of(column_type), kind_of(column_type))


def _money(value: Any, found: _Field, dialect: str) -> Decimal:
    """A money value read back: exact, with the amount's decimals."""
    step = Decimal(1).scaleb(-found.scale)
    if found.kind == "money_custom" and dialect == "sqlite":
        return Decimal(int(value)).scaleb(-found.scale).quantize(step)
    return Decimal(value).quantize(step)


def _value(name: str, found: _Field | None, got: list[Any], dialect: str) -> Any:
    if found is None or name.startswith("count"):
        return int(got[0] or 0)
    money = found.kind in ("money", "money_custom")
    if name.startswith("avg"):
        total, count = got
        if not count:
            return None
        if money:
            return (_money(total, found, dialect) / count).quantize(Decimal(1).scaleb(-found.scale), rounding=ROUND_HALF_UP)
        return float(total) / count
    value = got[0]
    if value is None:
        return Decimal(0).quantize(Decimal(1).scaleb(-found.scale)) if money and name.startswith("sum") else None
    if money:
        return _money(value, found, dialect)
    if found.kind == "number":
        return float(value)
    return value
