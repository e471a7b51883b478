"""Storage: the one declarative base, column types, and the one place engines are made.

SQLite (WAL, foreign keys on) is the default; PostgreSQL is reached through
``postgresql+psycopg://``. Engines are created only by :func:`make_engine`, so a
later multi-tenant deployment can choose a database or schema per site here.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table of the kernel and of every plugin hangs off this base's metadata."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always handed back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime  # so filters on these columns parse their values as datetimes

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Money(sa.types.TypeDecorator[Decimal]):
    """An amount column: ``Money()`` (two decimals) or ``Money(0)`` (yen, won); Decimal in, Decimal out.

    ``NUMERIC(18, scale)`` on PostgreSQL. SQLite has no decimal type (``sa.Numeric`` there is a
    floating-point REAL: ``12345678901234567.89`` comes back as ``12345678901234568``, and sums
    drift), so there the column holds the amount as a whole number of minor units (fen, cents)
    in a 64-bit INTEGER: exact, compared, sorted and summed in SQL as numbers. Either way Python
    sees a ``Decimal`` with ``scale`` decimals; a float or a value with more decimals is refused
    (round it with :func:`kernel.quantize` first), so the two databases store the same amounts.
    Pair it with a currency column (``sa.String(3)``) unless the entity has one currency.
    """

    impl = sa.Numeric(18, 2)
    cache_ok = True

    def __init__(self, scale: int = 2):
        super().__init__()
        self.scale = scale
        self.impl = sa.Numeric(18, scale, asdecimal=True)  # type: ignore[assignment]

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(sa.BigInteger() if dialect.name == "sqlite" else sa.Numeric(18, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float | bool) or not isinstance(value, Decimal | int | str):
            raise TypeError(f"a money column takes a Decimal, an int or decimal text, not {type(value).__name__}")
        amount = Decimal(value)
        step = Decimal(1).scaleb(-self.scale)
        if not amount.is_finite() or amount != amount.quantize(step) or abs(amount) >= Decimal(10) ** (18 - self.scale):
            raise ValueError(f"{value!r} is not an amount with at most {self.scale} decimals and {18 - self.scale} digits before the point")
        return int(amount.scaleb(self.scale)) if dialect.name == "sqlite" else amount.quantize(step)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        step = Decimal(1).scaleb(-self.scale)
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(step)
        return Decimal(value).quantize(step)


#: JSON on SQLite, JSONB on PostgreSQL: where custom-field values live. Engines made by
#: :func:`make_engine` read and write it with orjson (:func:`json_text`, :func:`json_value`).
JSONData = sa.JSON().with_variant(JSONB(), "postgresql")
#: An auto-incrementing id that is BIGINT on PostgreSQL and the rowid alias on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class RecordMixin:
    """The columns every entity's table has: ``id``, ``created_at``, ``updated_at``, ``custom``.

    Ids are never reused: PostgreSQL sequences never go back, and on SQLite the
    table is declared ``AUTOINCREMENT`` (without it a new row takes the largest
    id + 1, so a deleted last record's id, history and links come back to life).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None:
            table.dialect_options["sqlite"]["autoincrement"] = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    custom: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False, default=dict)


#: Connections an engine keeps open; the web app runs as many requests at once (:mod:`kernel.web.offload`).
POOL_SIZE = 8
#: Connections opened beyond :data:`POOL_SIZE` for a while: a request's second connection, jobs, the CLI.
MAX_OVERFLOW = 8


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the kernel's connection settings."""
    parsed = sa.make_url(url)
    pooled = parsed.database not in (None, "", ":memory:") or parsed.get_backend_name() != "sqlite"
    if pooled and "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    kwargs.setdefault("json_serializer", json_text)
    kwargs.setdefault("json_deserializer", json_value)
    from . import outbox  # its tables' module imports this one

    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", BUSY_SECONDS)
        engine = sa.create_engine(parsed, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(parsed, **kwargs)
    outbox.attach(engine)  # a write's events are inserted when it commits
    return engine


def json_text(value: Any) -> str:
    """A JSON column's value as compact UTF-8 JSON text (non-string keys written as strings, as ``json`` does)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def json_value(raw: Any) -> Any:
    """A JSON column's value read back. SQLite hands a number stored alone back as a number
    (the column's numeric affinity), which is already the value."""
    if isinstance(raw, int | float):
        return raw
    return orjson.loads(raw)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[sa.Connection]:
    """A transaction that will write.

    On SQLite it starts with ``BEGIN IMMEDIATE``: a transaction that reads and
    then writes would otherwise fail at once with "database is locked" when
    another process wrote in between, whatever the busy timeout. The threads of
    one process wait for that lock in a queue of their own (:func:`_writers_turn`).
    Elsewhere it is ``engine.begin()``.
    """
    with _writers_turn(engine), engine.connect() as conn:
        conn.execution_options(crm_write=True)
        with conn.begin():
            yield conn


#: Seconds a write waits for SQLite's write lock before "database is locked" (the driver's busy timeout).
BUSY_SECONDS = 30


@dataclass
class _Writers:
    lock: threading.Lock = field(default_factory=threading.Lock)
    holder: int | None = None  # the thread in its write transaction


_writers: dict[str, _Writers] = {}
_writers_made = threading.Lock()


def _forget_writers() -> None:
    """In a forked child: no writer, whatever thread of the parent held a turn (its locks would never be released)."""
    global _writers_made
    _writers.clear()
    _writers_made = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_writers)


@contextmanager
def _writers_turn(engine: Engine) -> Iterator[None]:
    """On SQLite, one write transaction at a time per database among this process's threads, in turn.

    SQLite lets one writer in at a time, and the others retry: its busy handler sleeps between
    tries, longer and longer (up to 0.1 s) the longer a writer has waited. Under load a writer that
    has waited long sleeps through the moments the lock is free and a newcomer takes it: with 16
    clients claiming at once, p50 was 0.1 s and p99 3.8 s. Here the process's threads wait on a lock
    that wakes the next one as soon as the writer before it ends, so at SQLite's door there is at
    most one writer per process (``crm serve --workers N``: N). A thread already in a write
    transaction of this database goes in again as before (SQLite's own lock decides)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    database = engine.url.database or ""
    key = os.path.abspath(database) if database and database != ":memory:" and not database.startswith("file:") else str(id(engine))
    writers = _writers.get(key)
    if writers is None:
        with _writers_made:
            writers = _writers.setdefault(key, _Writers())
    me = threading.get_ident()
    if writers.holder == me:
        yield
        return
    if not writers.lock.acquire(timeout=BUSY_SECONDS):
        raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
    writers.holder = me
    try:
        yield
    finally:
        writers.holder = None
        writers.lock.release()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # DDL run outside a transaction (custom-field indexes) must not be wrapped in one
    # straight to the driver: this runs for every transaction, and SQLAlchemy's statement
    # machinery (events, logging, result wrapping) costs more than SQLite's BEGIN itself
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if options.get("crm_write") else "BEGIN")  # type: ignore[union-attr]


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the "begin" listener issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ids_in(column: sa.ColumnElement[Any], ids: Sequence[int], dialect: str) -> sa.ColumnElement[bool]:
    """``column IN ids`` with the ids bound as one value (a JSON array on SQLite, an array on
    PostgreSQL): one short statement however many ids, and no bound-parameter limit."""
    wanted = [int(i) for i in ids]
    if dialect == "postgresql":  # the array's text ({1,2,3}): the driver dumps a list of ints item by item, 50 times slower
        text = "{" + ",".join(map(str, wanted)) + "}"
        return column == sa.any_(sa.cast(sa.bindparam(None, text, type_=sa.String), ARRAY(sa.BigInteger)))
    values = sa.func.json_each(sa.bindparam(None, json_text(wanted), type_=sa.String)).table_valued("value")
    return column.in_(sa.select(values.c.value))


def texts_in(column: sa.ColumnElement[Any], texts: Sequence[str], dialect: str) -> sa.ColumnElement[bool]:
    """``column IN texts``, indexed look-ups either way. On PostgreSQL the texts are bound as one JSON
    array, made a ``text[]`` once per statement (``column = ANY(ARRAY(SELECT …))``, an index condition,
    also under ``OR``): a thousand bound values cost psycopg and the server more than the look-ups
    themselves. On SQLite one JSON array too, read by ``json_each`` (the index is still used, value by
    value): SQLAlchemy expands a plain ``IN`` list bound value by bound value, which cost an import's
    duplicate look-up of a 1,000-row batch (3,000 keys) 6.4 ms against 4.9 ms."""
    if dialect != "postgresql":
        values = sa.func.json_each(sa.bindparam(None, json_text(list(texts)), type_=sa.String)).table_valued("value")
        return column.in_(sa.select(values.c.value))
    elements = sa.func.jsonb_array_elements_text(sa.cast(sa.bindparam(None, json_text(list(texts)), type_=sa.String), JSONB))
    return column == sa.any_(sa.func.array(sa.select(elements).scalar_subquery()))


def pool_size(engine: Engine) -> int:
    """How many connections ``engine`` keeps open (:data:`POOL_SIZE` unless made otherwise)."""
    size = getattr(engine.pool, "size", None)
    return max(1, size()) if callable(size) else POOL_SIZE


def is_postgres(engine: Engine | sa.Connection) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def joined(site: Any, conn: sa.Connection | None, *, write: bool = True) -> Iterator[sa.Connection]:
    """``conn`` when the caller already has a transaction open (its work joins it), else a new one:
    ``site.write()`` (one write transaction), or a plain read connection with ``write=False``."""
    if conn is not None:
        yield conn
        return
    with site.write() if write else site.engine.connect() as tx:
        yield tx
