"""Per-record timers: deadlines kept in one indexed table and fired in batches, once.

A plugin declares a :class:`Timer` for an entity (its own or another's) with
``register_timers``. A timer row ``(entity, record_id, name)`` holds one deadline of
one record in ``kernel_timers``; there are two ways to keep it:

* computed: ``due`` (one record → a time or ``None``) or ``due_many`` (a batch, for
  deadlines that need a look-up) with ``depends_on``: the write path
  (:mod:`kernel.records`) arms, moves and clears the row in the write transaction when
  a record is created, when one of those fields changes, and when it is deleted;
* explicit: :func:`arm`, :func:`move`, :func:`clear` (set-based, in the caller's
  transaction) for deadlines a plugin computes itself; :func:`rearm` recomputes
  computed ones from the stored records (after a rule changed, say).

:func:`fire_due` (the scheduler's tick, ``crm worker``, ``crm jobs run``) hands due rows
to the timer's ``handler`` in batches of ``batch_size``: one transaction per batch
deletes the rows (``DELETE … RETURNING``) and runs the handler, so the rows are
claimed by that transaction's row locks and fired with the handler's writes, or not
at all. PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``, so concurrent workers take
disjoint batches; SQLite's ``BEGIN IMMEDIATE`` lets one writer in at a time. A
failing batch is rolled back, then its rows are kept with the error and retried
after a backoff. No claim token or lease is needed: a claim never outlives its
transaction, so a worker that dies loses nothing. While a batch runs, Python's cyclic
garbage collector is paused (:func:`collector_paused`): a batch's many short-lived
objects would otherwise set off a collection of the whole heap.
"""

from __future__ import annotations

import gc
import logging
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .clock import as_utc
from .db import ids_in
from .errors import PluginError
from .models import TimerRow

if TYPE_CHECKING:
    from .entities import Entity
    from .site import Site, View

log = logging.getLogger(__name__)
TIMERS = TimerRow.__table__
#: Records read into Python at a time when their timers are re-computed from the stored rows.
READ_CHUNK = 10_000
#: Retry delay after a failed batch: doubled per attempt from the first, up to the last.
BACKOFF = (timedelta(minutes=1), timedelta(hours=1))


@dataclass(frozen=True)
class Timer:
    """A deadline records of ``entity`` carry, fired by ``handler`` in batches.

    ``handler(site=, conn=, actor=, entity=, timers=)`` gets up to ``batch_size``
    :class:`DueTimer` s at once, inside the transaction that removes them: write
    set-based (one UPDATE over the batch's ids), and check in SQL that each record still
    qualifies — a timer says when to look, the record says what to do. A fired timer is
    gone; the handler may arm it again. Raising rolls the batch back; it is retried later.

    Leave ``due`` and ``due_many`` out for a timer armed only explicitly (:func:`arm`).
    """

    name: str  # unique per entity, e.g. "return_at"
    entity: str
    handler: Callable[..., Any]
    #: record → when it is due (aware datetime), or ``None`` for no timer
    due: Callable[[dict[str, Any]], datetime | None] | None = None
    #: ``due_many(site=, conn=, entity=, records=)`` → one time or ``None`` per record, for look-ups
    due_many: Callable[..., Sequence[datetime | None]] | None = None
    #: the fields ``due`` reads (``"custom.NAME"`` for a custom field): changing one re-computes it
    depends_on: tuple[str, ...] = ()
    #: fields of ``depends_on`` a record must have set for the timer to be armed (an owner, a pool):
    #: a record with one of them empty has no timer, cleared without calling ``due``/``due_many``,
    #: and a batch write that empties one clears the timer without reading the records
    requires: tuple[str, ...] = ()
    batch_size: int = 500
    #: the batch on SQLite, when it should differ: one writer, and each commit writes the batch's
    #: pages (a checkpoint), so fewer, larger batches cost less there; ``None``: ``batch_size``
    sqlite_batch_size: int | None = None
    label: dict[str, str] = field(default_factory=dict)
    plugin: str = field(default="", compare=False)

    @property
    def computed(self) -> bool:
        return self.due is not None or self.due_many is not None

    def due_times(self, site: Site, conn: sa.Connection, records: Sequence[dict[str, Any]]) -> list[datetime | None]:
        """When each of ``records`` is due (``None``: no timer)."""
        if self.due_many is not None:
            found = list(self.due_many(site=site, conn=conn, entity=self.entity, records=list(records)))
            if len(found) != len(records):
                raise PluginError(f"timer {self.entity}.{self.name}: due_many returned {len(found)} times for {len(records)} records")
            return found
        assert self.due is not None
        return [self.due(record) for record in records]

    def batch_for(self, dialect: str) -> int:
        """How many timers a batch claims on ``dialect``'s database."""
        if dialect == "sqlite" and self.sqlite_batch_size is not None:
            return self.sqlite_batch_size
        return self.batch_size

    def idle(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` lacks a field the timer :attr:`requires` (so it has no timer)."""
        return any(record.get(name) is None for name in self.requires)


@dataclass(frozen=True)
class DueTimer:
    """One timer handed to its handler: the record, when it was due, and how many tries failed before."""

    record_id: int
    name: str
    due_at: datetime
    attempts: int


@dataclass(frozen=True)
class Fired:
    """What one pass of :func:`fire_due` did: timers fired, handler calls, batches that failed (rolled back)."""

    fired: int = 0
    batches: int = 0
    failed: int = 0


def check_timers(timers: Iterable[Timer], entities: dict[str, Entity]) -> dict[str, tuple[Timer, ...]]:
    """The enabled timers by entity; a timer naming an unknown entity or field, or declared twice, stops start-up."""
    found: dict[str, list[Timer]] = {}
    for timer in timers:
        where = f"timer {timer.entity}.{timer.name}"
        entity = entities.get(timer.entity)
        if entity is None:
            raise PluginError(f"{where}: no enabled entity {timer.entity!r} (require the plugin that has it)")
        if not timer.name or len(timer.name) > 80 or not timer.name.replace("_", "").isalnum():
            raise PluginError(f"{where}: a timer name is snake_case, at most 80 characters")
        if timer.due is not None and timer.due_many is not None:
            raise PluginError(f"{where}: give due or due_many, not both")
        if timer.computed and not timer.depends_on:
            raise PluginError(f"{where}: a computed timer names the fields it depends on (depends_on)")
        loose = [f for f in timer.requires if f not in timer.depends_on]
        if loose:
            raise PluginError(f"{where}: requires names {loose[0]!r}, which is not in depends_on")
        stray = [f for f in timer.depends_on if not f.startswith("custom.") and f not in entity.table.c]
        if stray:
            raise PluginError(f"{where}: depends_on names {stray[0]!r}, which is not a field of {entity.name}")
        if timer.batch_size < 1 or (timer.sqlite_batch_size is not None and timer.sqlite_batch_size < 1):
            raise PluginError(f"{where}: batch_size must be at least 1")
        if any(t.name == timer.name for t in found.get(timer.entity, ())):
            raise PluginError(f"{where} is declared twice")
        found.setdefault(timer.entity, []).append(timer)
    return {name: tuple(group) for name, group in found.items()}


# -- arming ----------------------------------------------------------------------------


def arm(conn: sa.Connection, entity: str, ids: Sequence[int], name: str, due_at: datetime | Sequence[datetime]) -> None:
    """Set timer ``name`` of records ``ids`` to ``due_at`` (one time, or one per id): armed, or moved if armed."""
    times = [due_at] * len(ids) if isinstance(due_at, datetime) else list(due_at)
    if len(times) != len(ids):
        raise ValueError(f"arm: {len(ids)} ids but {len(times)} due times")
    _upsert(conn, [_row(entity, int(i), name, at) for i, at in zip(ids, times)])


def move(conn: sa.Connection, entity: str, ids: Sequence[int], name: str, due_at: datetime) -> int:
    """Move timer ``name`` of those ``ids`` that have it armed to ``due_at``; returns how many moved."""
    at = as_utc(due_at)
    if not ids:
        return 0
    return conn.execute(
        sa.update(TIMERS)
        .where(TIMERS.c.entity == entity, TIMERS.c.name == name, _records_in(ids, conn))
        .values(due_at=at, next_at=at, attempts=0, error=None)
    ).rowcount


def clear(conn: sa.Connection, entity: str, ids: Sequence[int], name: str | None = None) -> None:
    """Remove timer ``name`` (every timer when ``None``) of records ``ids``."""
    _clear(conn, entity, ids, None if name is None else (name,))


def _clear(conn: sa.Connection, entity: str, ids: Sequence[int], names: Sequence[str] | None) -> None:
    """Remove the timers ``names`` (all when ``None``) of records ``ids``: one statement."""
    if not ids or (names is not None and not names):
        return
    if names is not None and conn.info.get(_CLAIMED):  # a timer batch's handler: its own timers are gone already
        names = [n for n in names if not _claimed_here(conn, entity, n, ids)]
        if not names:
            return
    where = [TIMERS.c.entity == entity, _records_in(ids, conn)]
    if names is not None:
        unique = sorted(set(names))
        where.append(TIMERS.c.name == unique[0] if len(unique) == 1 else TIMERS.c.name.in_(unique))
    conn.execute(sa.delete(TIMERS).where(*where))


def armed(conn: sa.Connection, entity: str, ids: Sequence[int], name: str | None = None) -> dict[int, dict[str, datetime]]:
    """The armed timers of records ``ids``: record id → timer name → due time (for "due in 3 days" on a page)."""
    found: dict[int, dict[str, datetime]] = {}
    if not ids:
        return found
    query = sa.select(TIMERS.c.record_id, TIMERS.c.name, TIMERS.c.due_at).where(TIMERS.c.entity == entity, _records_in(ids, conn))
    if name is not None:
        query = query.where(TIMERS.c.name == name)
    for row in conn.execute(query):
        found.setdefault(row.record_id, {})[row.name] = row.due_at
    return found


def rearm(site: Site, conn: sa.Connection, entity: str, ids: Sequence[int], name: str | None = None) -> None:
    """Recompute the computed timers (``name``, or all) of records ``ids`` from the stored records."""
    view = site.view
    found = view.entities.get(entity)
    if found is None:
        return
    wanted = [t for t in view.timers.get(entity, ()) if t.computed and name in (None, t.name)]
    if wanted and ids:
        for records in _stored(conn, found.table, ids):
            _set(site, conn, wanted, records)


# -- the write path's call-outs ----------------------------------------------------------


def on_create(site: Site, view: View, conn: sa.Connection, entity: str, records: Sequence[dict[str, Any]]) -> None:
    """Arm the computed timers of new records (in their write transaction)."""
    declared = view.timers.get(entity)
    if declared:
        _set(site, conn, [t for t in declared if t.computed], records)


def on_update(site: Site, view: View, conn: sa.Connection, entity: str, records: Sequence[dict[str, Any]], diffs: Sequence[dict[str, Any]]) -> None:
    """Re-compute the timers whose fields a change touched (``diffs``: each record's changed fields)."""
    declared = view.timers.get(entity)
    if not declared:
        return
    for timer in declared:
        if timer.computed:
            touched = [r for r, diff in zip(records, diffs) if any(f in diff for f in timer.depends_on)]
            if touched:
                _set(site, conn, [timer], touched)


def on_update_ids(site: Site, view: View, conn: sa.Connection, entity: str, ids: Sequence[int], changes: Mapping[str, Any]) -> None:
    """Re-compute, from the stored records ``ids``, the timers depending on one of the fields
    ``changes`` set, each to the same value (after a set-based write, which had no records in hand).
    A timer whose required field the change empties is cleared without reading the records."""
    wanted = [t for t in view.timers.get(entity, ()) if t.computed and set(changes) & set(t.depends_on)]
    if not wanted or not ids:
        return
    idle = [t for t in wanted if any(changes.get(name, ...) is None for name in t.requires)]
    _clear(conn, entity, ids, [t.name for t in idle])
    rest = [t for t in wanted if t not in idle]
    if rest:
        for records in _stored(conn, view.entities[entity].table, ids):
            _set(site, conn, rest, records)


def on_delete(view: View, conn: sa.Connection, entity: str, ids: Sequence[int]) -> None:
    """A deleted record's timers go with it, whoever armed them (when its entity has timers declared:
    a timer whose record is gone never fires anyway)."""
    if view.timers.get(entity):
        clear(conn, entity, ids)


def _stored(conn: sa.Connection, table: sa.Table, ids: Sequence[int]) -> Iterable[list[dict[str, Any]]]:
    """The stored records ``ids``, :data:`READ_CHUNK` at a time."""
    unique = sorted({int(i) for i in ids})
    for start in range(0, len(unique), READ_CHUNK):
        part = unique[start : start + READ_CHUNK]
        yield [dict(row._mapping) for row in conn.execute(sa.select(table).where(ids_in(table.c.id, part, conn.dialect.name)))]


def _set(site: Site, conn: sa.Connection, timers: Sequence[Timer], records: Sequence[dict[str, Any]]) -> None:
    for timer in timers:
        live = [r for r in records if not timer.idle(r)]
        due = timer.due_times(site, conn, live) if live else []
        _upsert(conn, [_row(timer.entity, r["id"], timer.name, at) for r, at in zip(live, due) if at is not None])
        gone = [r["id"] for r in records if timer.idle(r)] + [r["id"] for r, at in zip(live, due) if at is None]
        _clear(conn, timer.entity, gone, (timer.name,))


def _row(entity: str, record_id: int, name: str, due_at: datetime) -> dict[str, Any]:
    if not isinstance(due_at, datetime):
        raise TypeError(f"timer {entity}.{name}: due time of record {record_id} must be a datetime, not {type(due_at).__name__}")
    at = as_utc(due_at)
    return {"entity": entity, "record_id": record_id, "name": name, "due_at": at, "next_at": at, "attempts": 0, "error": None}


_UPSERTS: dict[str, Any] = {}


def _upsert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    claimed = conn.info.get(_CLAIMED)
    if claimed:  # armed again in the batch that fired it: a later clear must delete it
        for row in rows:
            claimed.pop((row["entity"], row["name"]), None)
    dialect = conn.dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:  # built once per dialect: every record write with a computed timer comes here
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TIMERS)
        statement = _UPSERTS[dialect] = insert.on_conflict_do_update(
            index_elements=["entity", "record_id", "name"],
            set_={"due_at": insert.excluded.due_at, "next_at": insert.excluded.next_at, "attempts": 0, "error": None},
        )
    conn.execute(statement, rows)  # one executemany


#: ``conn.info`` key: while a timer batch's handler runs, ``{(entity, name): record ids}`` of the
#: timer rows its claim deleted in this transaction (and not armed again since), so that clearing
#: them again (a handler emptying a field the timer requires) costs no statement
_CLAIMED = "crm_timers_claimed"


@contextmanager
def _claimed_in(conn: sa.Connection, timer: Timer, claimed: Sequence[DueTimer]) -> Iterator[None]:
    """Note on ``conn`` that ``claimed`` timers were deleted by this transaction, while the handler runs."""
    conn.info[_CLAIMED] = {(timer.entity, timer.name): {t.record_id for t in claimed}}
    try:
        yield
    finally:
        conn.info.pop(_CLAIMED, None)


def _claimed_here(conn: sa.Connection, entity: str, name: str, ids: Sequence[int]) -> bool:
    """Whether the timers ``name`` of records ``ids`` are all rows this transaction's claim deleted."""
    claimed = conn.info[_CLAIMED].get((entity, name))
    return claimed is not None and all(int(i) in claimed for i in ids)


def _ids_of(column: sa.ColumnElement[Any], ids: Sequence[int], conn: sa.Connection) -> sa.ColumnElement[bool]:
    """``column IN ids``, the ids bound as one value (:func:`kernel.db.ids_in`), sorted and each once."""
    return ids_in(column, sorted({int(i) for i in ids}), conn.dialect.name)


def _records_in(ids: Sequence[int], conn: sa.Connection) -> sa.ColumnElement[bool]:
    return _ids_of(TIMERS.c.record_id, ids, conn)


# -- firing ------------------------------------------------------------------------------


def fire_due(site: Site, now: datetime | None = None, *, only: str | None = None) -> Fired:
    """Fire every timer due as of ``now`` (the site clock's time by default), batch by batch.

    Timers armed while the pass runs (a handler re-arming one in the past) wait for the
    next pass, so a pass always ends. ``only`` (``"entity.name"``) fires one timer.
    """
    now = as_utc(now or site.clock.now())
    declared = [t for group in site.view.timers.values() for t in group if only in (None, f"{t.entity}.{t.name}")]
    if not declared:
        return Fired()
    with site.engine.connect() as conn:
        bound = conn.scalar(sa.select(sa.func.max(TIMERS.c.id)))
    if bound is None:
        return Fired()
    total = Fired()
    for timer in declared:
        done = _fire_timer(site, timer, now, bound)
        total = Fired(total.fired + done.fired, total.batches + done.batches, total.failed + done.failed)
    return total


def _fire_timer(site: Site, timer: Timer, now: datetime, bound: int) -> Fired:
    from .records import Actor

    actor = Actor(user_id=None, label=f"timer {timer.entity}.{timer.name}", role="admin", channel="job")
    records = site.view.entities[timer.entity].table
    size = timer.batch_for(site.engine.dialect.name)
    fired = batches = failed = 0
    while True:
        claimed: list[DueTimer] = []
        try:
            with collector_paused(), site.write() as conn:
                claimed = _claim(conn, records, timer, now, bound, size)
                if not claimed:
                    break
                with _claimed_in(conn, timer, claimed):
                    timer.handler(site=site, conn=conn, actor=actor, entity=timer.entity, timers=claimed)
        except Exception as exc:  # the batch rolled back: keep its timers with the error, retry later
            if not claimed:
                raise
            log.exception("timer %s.%s failed on a batch of %d", timer.entity, timer.name, len(claimed))
            _postpone(site, timer, claimed, now, "".join(traceback.format_exception_only(exc)).strip())
            failed += 1
            continue
        fired += len(claimed)
        batches += 1
        if len(claimed) < size:
            break
    return Fired(fired, batches, failed)


_PAUSE_LOCK = threading.Lock()
_PAUSED = {"batches": 0, "was_on": False}  # batches running with the collector paused; whether it ran before


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a batch runs (process-wide; back on when the last
    running batch ends, if it was on before the first).

    A batch holds thousands of rows, timers and dicts for a moment: young collections then find them
    alive and promote them, and the full collection that follows walks the whole heap — measured at
    0.3 s for a site's ~170,000 objects, a third of the Python time of a night of 10,000 pool returns.
    Reference counting still frees what a batch lets go; only reference cycles wait for its end.
    An import's batches pause it too (:mod:`kernel.importjobs`: 8 full collections in 10,000 rows, a
    fifth of the import's CPU, without).
    """
    with _PAUSE_LOCK:
        if _PAUSED["batches"] == 0:
            _PAUSED["was_on"] = gc.isenabled()
            gc.disable()
        _PAUSED["batches"] += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSED["batches"] -= 1
            if _PAUSED["batches"] == 0 and _PAUSED["was_on"]:
                gc.enable()


def _claim(conn: sa.Connection, records: sa.Table, timer: Timer, now: datetime, bound: int, size: int) -> list[DueTimer]:
    """Delete up to ``size`` due rows of ``timer`` and return them (locked until the transaction ends).

    On PostgreSQL the pick locks each timer row and its record and skips rows where either is
    locked: a record being written right now (whose timer that write may move) waits for the
    next pass, rather than the write and this batch each waiting for a lock the other holds.
    A timer whose record is gone (deleted outside ``site.records``) never fires.
    """
    due = (
        sa.select(TIMERS.c.id)
        .join(records, records.c.id == TIMERS.c.record_id)
        .where(TIMERS.c.entity == timer.entity, TIMERS.c.name == timer.name, TIMERS.c.next_at <= now, TIMERS.c.id <= bound)
        .order_by(TIMERS.c.next_at)
        .limit(size)
    )
    if conn.dialect.name == "postgresql":  # the picked rows by their place (ctid, theirs while locked), not another probe of an index
        ctid = sa.column("ctid", _selectable=TIMERS)  # PostgreSQL's system column, not in the model
        chosen = due.with_only_columns(ctid.label("place")).with_for_update(skip_locked=True, of=[TIMERS, records]).cte("due").prefix_with("MATERIALIZED")
        statement = sa.delete(TIMERS).where(ctid == chosen.c.place)
    else:
        statement = sa.delete(TIMERS).where(TIMERS.c.id.in_(due.scalar_subquery()))
    rows = conn.execute(statement.returning(TIMERS.c.record_id, TIMERS.c.due_at, TIMERS.c.attempts)).all()
    return sorted((DueTimer(r.record_id, timer.name, r.due_at, r.attempts) for r in rows), key=lambda t: (t.due_at, t.record_id))


def _postpone(site: Site, timer: Timer, claimed: list[DueTimer], now: datetime, error: str) -> None:
    """Count a failed try on the batch's rows still due (one moved meanwhile keeps its new time), with a backoff."""
    attempts = max(t.attempts for t in claimed) + 1
    first, last = BACKOFF
    retry = now + min(first * 2 ** (attempts - 1), last)
    with site.write() as conn:
        conn.execute(
            sa.update(TIMERS)
            .where(TIMERS.c.entity == timer.entity, TIMERS.c.name == timer.name, _records_in([t.record_id for t in claimed], conn), TIMERS.c.next_at <= now)
            .values(attempts=TIMERS.c.attempts + 1, error=error[:2000], next_at=retry)
        )


def schedule_tick(site: Site) -> Callable[[], None]:
    """The function ``crm serve`` and ``crm worker`` call on an interval: fire what is due, never raise."""

    def tick() -> None:
        try:
            fire_due(site)
        except Exception:  # keep ticking: the next interval may find the database back
            log.exception("firing due timers failed")

    return tick
