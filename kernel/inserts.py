"""Batch INSERTs with the values already in the driver's form, without per-row statement work.

``conn.execute(sa.insert(table), rows)`` costs SQLAlchemy, for every row, a parameter set built
from the compiled statement and a pass over the statement's bind processors: on an import
into a thirty-column table (six of them JSON) that was as much CPU as SQLite's own inserts.
:func:`insert_rows` works out once per dialect, table and set of columns which values need
converting, converts each row with the processors SQLAlchemy would have run (the columns' types'
``bind_processor``: JSON to text, timestamps to UTC, booleans to integers on SQLite), and hands the
batch to the database in one go:

* SQLite: the compiled INSERT through ``conn.exec_driver_sql`` (sqlite3's ``executemany``; connection
  events, and the tests that count statements, still see it);
* PostgreSQL (psycopg): ``COPY … FROM STDIN``, which spares the server an INSERT execution per row
  and psycopg its per-row pipelining (measured on audit-like rows: 9 µs → 5 µs a row in the server,
  7 µs → 1 µs in Python). A JSON document or list goes as its JSON text (what psycopg sent was that
  same text, made by the same serializer) and a list of texts as an array literal, every element
  quoted: both are read by the column type's own input function, as a bound value is. An error is
  raised as SQLAlchemy raises the driver's (:class:`sqlalchemy.exc.IntegrityError` for a unique key).
  A COPY is no statement SQLAlchemy executes: connection events (``before_cursor_execute``) do not see it.

What is stored is the same, byte for byte. Rows that need SQLAlchemy's help take its path: a column
left out of the rows that has a Python-side default (SQLAlchemy computes it per row), keys that are
not columns, rows lacking a key the first one has, another driver; and so does a single row on
PostgreSQL (an INSERT is one round trip, a COPY two).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

#: Plans kept (dialect, table and columns each): a site writes a few dozen tables this way.
CACHED = 256
_NOTHING = object()


@dataclass(frozen=True)
class _Plan:
    """How rows with given keys go into a table: the statement, and how a row becomes its values."""

    sql: str  # an INSERT with positional parameters, or a COPY
    copy: bool
    keys: tuple[str, ...]  # in the statement's order
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, processor) of the columns that have one

    def values(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Each row's values in the statement's order, converted; KeyError for a row that lacks a key.

        A column's value that is the very object the row before had (a batch's one timestamp, None)
        takes that row's converted value: processors are plain functions of their value."""
        take = operator.itemgetter(*self.keys) if len(self.keys) > 1 else (lambda row, key=self.keys[0]: (row[key],))
        converters = self.converters
        last: list[Any] = [(_NOTHING, None)] * len(converters)
        out = []
        for row in rows:
            values = list(take(row))
            for position, (index, convert) in enumerate(converters):
                value = values[index]
                before, converted = last[position]
                if value is not before:
                    converted = convert(value)
                    last[position] = (value, converted)
                values[index] = converted
            out.append(tuple(values))
        return out


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column) into ``table`` as ``conn.execute(sa.insert(table), rows)``
    would, with less work per row."""
    if not rows:
        return
    plan = _plan(conn.dialect, table, tuple(rows[0]))
    if plan is not None and (len(rows) > 1 or not plan.copy):  # one row: an INSERT is a round trip less than a COPY
        try:
            values = plan.values(rows)
        except KeyError:  # a row lacks a key the first one has: SQLAlchemy says which
            values = None
        if values is not None:
            if plan.copy:
                _copy(conn, plan.sql, values)
            else:
                conn.exec_driver_sql(plan.sql, values)
            return
    conn.execute(sa.insert(table), list(rows))


def _copy(conn: sa.Connection, sql: str, values: list[tuple[Any, ...]]) -> None:
    """``COPY … FROM STDIN`` of ``values`` in ``conn``'s transaction, a driver error raised as SQLAlchemy's."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            for row in values:
                copy.write_row(row)
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=conn.dialect) from exc


@functools.lru_cache(maxsize=CACHED)
def _plan(dialect: sa.Dialect, table: sa.Table, keys: tuple[str, ...]) -> _Plan | None:
    """How rows with ``keys`` go into ``table``; None when SQLAlchemy must fill values in per row, or
    the driver is neither sqlite3 nor psycopg."""
    if not keys or any(key not in table.c for key in keys) or (dialect.name, dialect.driver) not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        return None
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    if compiled.insert_prefetch:
        return None
    copy = dialect.name == "postgresql"
    if copy:
        if not all(_copied_alike(table.c[key].type.dialect_impl(dialect)) for key in keys):
            return None
        order = keys
        quote = dialect.identifier_preparer
        sql = f"COPY {quote.format_table(table)} ({', '.join(quote.format_column(table.c[key]) for key in keys)}) FROM STDIN"
    else:
        order, sql = tuple(compiled.positiontup or ()), compiled.string
        if sorted(order) != sorted(keys):
            return None
    converters = []
    for index, key in enumerate(order):
        convert = _converter(table.c[key].type, dialect)
        if convert is not None:
            converters.append((index, convert))
    return _Plan(sql, copy, order, tuple(converters))


def _copied_alike(impl: sa.types.TypeEngine[Any]) -> bool:
    """Whether COPY's text input stores a value of this type as a bound parameter does. A timestamp
    without time zone does not: its input drops an offset the parameter's cast would have applied."""
    if isinstance(impl, sa.TypeDecorator):
        impl = impl.impl_instance
    if isinstance(impl, sa.DateTime):
        return bool(impl.timezone)
    return isinstance(impl, sa.String | sa.Integer | sa.Numeric | sa.Boolean | sa.Date | sa.JSON | sa.ARRAY)


def _converter(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a value of ``type_`` before the driver sees it (None: nothing), and on
    PostgreSQL the text form of JSON documents and lists of texts (see the module's docstring). A JSON
    document or list is serialized without SQLAlchemy's processor around the serializer (on SQLite when
    that processor adds nothing): a new customer has six JSON values."""
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if isinstance(impl, sa.JSON):
        serialize = getattr(dialect, "_json_serializer", None)
        if serialize is not None and process is not None and (dialect.name == "postgresql" or _serializes_alone(impl, dialect)):
            return functools.partial(_json_text, serialize, process)
    if dialect.name != "postgresql":
        return process
    if isinstance(impl, sa.ARRAY) and isinstance(impl.item_type, sa.String) and impl.dimensions in (None, 1):
        return functools.partial(_text_array, process)
    return process


def _serializes_alone(impl: sa.JSON, dialect: sa.Dialect) -> bool:
    """Whether the type's bind processor hands a document or list to the driver as the dialect's
    serializer writes it, nothing more (SQLite's JSON): then :func:`_json_text` may call the serializer itself."""
    return type(impl).bind_processor is sa.JSON.bind_processor and impl._str_impl.bind_processor(dialect) is None


def _json_text(serialize: Callable[[Any], str], process: Callable[[Any], Any], value: Any) -> Any:
    """A document or list as its JSON text; anything else (None, SQLAlchemy's NULL markers) as the type
    processes it. An empty list, a new record's usual phones, emails, tags and shares, is ``[]`` without a call."""
    kind = type(value)
    if kind is list:
        return serialize(value) if value else "[]"
    return serialize(value) if kind is dict else process(value)


def _text_array(process: Callable[[Any], Any] | None, value: Any) -> Any:
    """A list of texts as a PostgreSQL array literal, each element quoted (``{"a","b\\"c"}``); anything else as the type processes it."""
    if type(value) is list:
        try:
            joined = '","'.join(value)
        except TypeError:  # an element that is no text
            pass
        else:
            if not value:
                return "{}"
            if "\\" not in joined and '"' not in joined:  # the usual case: nothing to escape
                return '{"' + joined + '"}'
            return "{" + ",".join(['"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in value]) + "}"
    return process(value) if process is not None else value
