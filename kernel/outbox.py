"""The outbox: every committed write leaves events, delivered after commit to ``on_event``.

Writing. An event *is* an audit entry about a record (:func:`kernel.audit.write`:
creates, updates, deletes, restores, transitions, actions): nothing is copied. What the
outbox adds is the order in which writes committed: each transaction that wrote audit
entries leaves one row in ``kernel_outbox_commits``, inserted just before it commits,
naming the ranges of audit ids it wrote (:func:`append` keeps them on the connection; a
rolled-back write or savepoint drops its own). A set-based write (:mod:`kernel.batches`)
of 100,000 records thus adds one small row, not 100,000. The audit action names the
event (:func:`event_name`)::

    create → ENTITY.created    update → ENTITY.updated    delete → ENTITY.deleted
    restore → ENTITY.restored  transition → ENTITY.transition
    any other action A (assign, close, merged_into…) → ENTITY.A

Entries that are no write (logins, tokens, exports) or name no record make no event.
On PostgreSQL the commit row is inserted under a transaction-level advisory lock held
until the commit right after it, so commit rows' ids grow in commit order and a reader
never skips a write committed late (on SQLite one writer at a time gives the same).

Delivering. :func:`dispatch` (run by ``crm serve``/``crm worker`` beside the jobs)
hands each event to every plugin implementing ``on_event`` — a *subscriber*, tracked
apart — at least once, in commit order (hence in order per record), with its stable
``id``: a UUID derived from the audit entry's id and a random namespace the site keeps
(:func:`event_ids`), the same on a redelivery. A subscriber's position is the last commit
it has taken in full and, inside the next one, the last audit id it was handed, so a
transaction of any size is delivered in batches. A failing event is retried with backoff
and holds back the later events of the same record for that subscriber only; after
:data:`MAX_ATTEMPTS` it becomes a dead letter (:func:`dead_letters`, :func:`retry`, ``GET
/api/v1/outbox/dead``), which stops holding the record back. A subscriber seen for the
first time starts at the oldest commit kept (commit rows are kept :data:`KEEP_DAYS`; the
audit entries themselves are the audit log's).
"""

from __future__ import annotations

import bisect
import logging
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .clock import as_utc
from .models import AuditEntry, OutboxCommit, OutboxDelivery, OutboxSubscriber, Secret

if TYPE_CHECKING:
    from .site import Site

log = logging.getLogger(__name__)
AUDIT = AuditEntry.__table__
COMMITS = OutboxCommit.__table__
SUBSCRIBERS = OutboxSubscriber.__table__
DELIVERIES = OutboxDelivery.__table__
SECRETS = Secret.__table__
NAMESPACE = "outbox_namespace"  # the kernel_secrets row event ids are derived with

#: Audit actions whose event has another name; any other action A gives ``ENTITY.A``.
EVENT_NAMES = {"create": "created", "update": "updated", "delete": "deleted", "restore": "restored", "transition": "transition"}
#: Audit actions that record no write, hence no event.
NOT_WRITES = frozenset({"login", "logout", "login_failed", "token_create", "token_revoke", "export"})
MAX_ATTEMPTS = 8  # deliveries of one event to one subscriber before it is a dead letter
FIRST_RETRY = timedelta(seconds=30)  # doubled after every failure ...
LAST_RETRY = timedelta(hours=1)  # ... up to this
BATCH = 500  # events (and commits) read at a time
MAX_BATCHES = 40  # per subscriber and pass, so that one pass ends while writes go on
LEASE = timedelta(minutes=5)  # how long a dispatcher holds a subscriber before another may take it
KEEP_DAYS = 7  # commits every subscriber has taken are forgotten after this many days
_ready: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose database has the outbox's table
_PENDING = "crm_outbox_pending"
_SAVEPOINTS = "crm_outbox_savepoints"


def event_name(entity: str, action: str) -> str:
    """``ENTITY.created`` for the audit action ``create``, etc. (see the module's table)."""
    return f"{entity}.{EVENT_NAMES.get(action, action)}"


@dataclass(frozen=True)
class Event:
    """One event handed to ``on_event``: ``id`` is the same on every delivery of it.

    ``name`` is ``ENTITY.created|updated|deleted|restored|transition|ACTION``;
    ``changes`` maps field → ``[old, new]`` as in the audit log (a delete's holds the
    record's last values, an action's its ``body``); ``actor`` is
    ``{"id", "label", "channel"}``; ``attempt`` counts deliveries to this subscriber (1 first).
    """

    id: str
    name: str
    entity: str
    record_id: int
    action: str
    changes: dict[str, Any]
    actor: dict[str, Any]
    at: datetime
    attempt: int = 1

    def payload(self) -> dict[str, Any]:
        """The JSON body of a webhook delivery (``record`` is the record's id)."""
        return {
            "id": self.id, "event": self.name, "entity": self.entity, "record": self.record_id,
            "changes": self.changes, "actor": self.actor, "at": self.at.isoformat(),
        }


# -- writing ----------------------------------------------------------------------------


def is_event(entry: Mapping[str, Any]) -> bool:
    """Whether an audit entry (a row for :func:`kernel.audit.write`) is an event: a write to a record."""
    return entry["record_id"] is not None and entry["action"] not in NOT_WRITES


def append(conn: sa.Connection, audit_ids: Sequence[int], at: datetime) -> None:
    """Name these audit entries, just written on ``conn``, in the commit row inserted before it commits.

    ``audit_ids`` may be a ``range`` (a set-based write's); entries among them that are no
    event are skipped when delivering. ``at`` is when they were written (the commit row's time).
    """
    if not len(audit_ids):
        return
    pending = _pending(conn)
    if isinstance(audit_ids, range) and audit_ids.step == 1:
        pending.append((audit_ids.start, audit_ids.stop - 1, at))
        return
    ordered = sorted(audit_ids)
    first = last = ordered[0]
    for value in ordered[1:]:
        if value != last + 1:
            pending.append((first, last, at))
            first = value
        last = value
    pending.append((first, last, at))


#: The statements an import asks twice a batch (:func:`last_commit`, :func:`written_since`), built once:
#: a statement made anew costs SQLAlchemy its construction and cache key each time (~50 us), more than
#: SQLite's answer.
_LAST_COMMIT = sa.select(sa.func.coalesce(sa.func.max(COMMITS.c.id), 0))
_COMMITTED_AFTER = sa.select(COMMITS.c.entries).where(COMMITS.c.id > sa.bindparam("commit"))


def last_commit(conn: sa.Connection) -> int:
    """The id of the last commit row ``conn`` sees: writes committed later have larger ones."""
    return int(conn.scalar(_LAST_COMMIT))


def written_since(conn: sa.Connection, commit: int, entities: Sequence[str]) -> bool:
    """Whether a transaction committed after commit row ``commit`` wrote a record of one of ``entities``
    (what a check made before a write transaction asks inside it: has its answer gone stale?)."""
    ranges = [span for (entries,) in conn.execute(_COMMITTED_AFTER, {"commit": commit}) for span in entries]
    if not ranges:
        return False
    if len(ranges) > 200:  # a busy stretch: say yes rather than ask a long question
        return True
    within = sa.or_(*(AUDIT.c.id.between(first, last) for first, last in ranges))
    return conn.scalar(sa.select(AUDIT.c.id).where(within, AUDIT.c.entity.in_(list(entities))).limit(1)) is not None


def _ranges(pending: Sequence[tuple[int, int, datetime]]) -> list[list[int]]:
    """The pending ranges, ascending, touching ones joined."""
    joined: list[list[int]] = []
    for first, last, _ in sorted(pending):
        if joined and first <= joined[-1][1] + 1:
            joined[-1][1] = max(joined[-1][1], last)
        else:
            joined.append([first, last])
    return joined


def events_query() -> sa.Select[Any]:
    """The events kept in the audit log, in audit-id order: ``id`` (the audit entry's), ``name``,
    ``entity``, ``record_id``, ``action``, ``changes``, ``actor_id``, ``actor``, ``channel``, ``at``."""
    suffix = sa.case(*((AUDIT.c.action == action, name) for action, name in EVENT_NAMES.items()), else_=AUDIT.c.action)
    columns = ("entity", "record_id", "action", "changes", "actor_id", "actor", "channel", "at")
    return (
        sa.select(AUDIT.c.id, (AUDIT.c.entity + "." + suffix).label("name"), *(AUDIT.c[c] for c in columns))
        .where(AUDIT.c.record_id.is_not(None), AUDIT.c.action.not_in(NOT_WRITES))
        .order_by(AUDIT.c.id)
    )


def event_ids(site: Site, ids: Iterable[int]) -> dict[int, str]:
    """The event id (a UUID) of each outbox row id: derived from the row's id and a random
    namespace kept in the database, so it is the same on every delivery and unlike any other
    site's, and costs the write nothing."""
    namespace = uuid.UUID(_namespace(site))
    return {i: str(uuid.uuid5(namespace, str(i))) for i in ids}


def _namespace(site: Site) -> str:
    query = sa.select(SECRETS.c.value).where(SECRETS.c.name == NAMESPACE)
    with site.engine.connect() as conn:
        value = conn.scalar(query)
    if value is None:
        try:
            with site.write() as conn:
                conn.execute(sa.insert(SECRETS).values(name=NAMESPACE, value=str(uuid.uuid4()), created_at=site.clock.now()))
        except sa.exc.IntegrityError:
            pass  # another process made it first
        with site.engine.connect() as conn:
            value = conn.scalar(query)
    return str(value)


def _pending(conn: sa.Connection) -> list[tuple[int, int, datetime]]:
    """The audit ids ``conn`` has written, as ``(first, last, at)`` ranges, for its commit row."""
    if not sa.event.contains(conn.engine, "commit", _flush):
        raise RuntimeError("this engine does not keep an outbox: build it through kernel.Site")
    return conn.info.setdefault(_PENDING, [])


def attach(engine: Engine) -> None:
    """Make ``engine``'s transactions insert their pending events when they commit (once per engine)."""
    if sa.event.contains(engine, "commit", _flush):
        return
    sa.event.listen(engine, "commit", _flush)
    sa.event.listen(engine, "rollback", _drop)
    sa.event.listen(engine, "savepoint", _savepoint)
    sa.event.listen(engine, "rollback_savepoint", _rollback_savepoint)
    sa.event.listen(engine, "release_savepoint", _release_savepoint)
    sa.event.listen(engine, "reset", _reset)


def _flush(conn: sa.Connection) -> None:
    pending = conn.info.pop(_PENDING, None)
    conn.info.pop(_SAVEPOINTS, None)
    if not pending or not _table_exists(conn):
        return
    if conn.dialect.name == "postgresql":  # ids in commit order: held until the commit that follows
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.kernel_outbox_commits'))"))
    conn.execute(sa.insert(COMMITS).values(entries=_ranges(pending), at=min(at for _, _, at in pending)))


def _table_exists(conn: sa.Connection) -> bool:
    """Whether the kernel's migrations made the outbox yet (a database written before upgrading has none).

    Asked of the database until the answer is yes, then never again for this engine."""
    if conn.engine in _ready:
        return True
    if not sa.inspect(conn).has_table(COMMITS.name):
        log.warning("events of a write not queued: this database has no %s table yet (run 'crm db upgrade')", COMMITS.name)
        return False
    _ready.add(conn.engine)
    return True


def _drop(conn: sa.Connection) -> None:
    conn.info.pop(_PENDING, None)
    conn.info.pop(_SAVEPOINTS, None)


def _reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
    record.info.pop(_PENDING, None)
    record.info.pop(_SAVEPOINTS, None)


def _savepoint(conn: sa.Connection, name: str | None) -> None:  # savepoints nest: a stack of pending counts
    conn.info.setdefault(_SAVEPOINTS, []).append(len(conn.info.get(_PENDING, ())))


def _rollback_savepoint(conn: sa.Connection, name: str, context: Any) -> None:
    marks = conn.info.get(_SAVEPOINTS)
    if marks:
        kept = marks.pop()
        if _PENDING in conn.info:
            del conn.info[_PENDING][kept:]


def _release_savepoint(conn: sa.Connection, name: str, context: Any) -> None:
    marks = conn.info.get(_SAVEPOINTS)
    if marks:
        marks.pop()


# -- delivering -------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed delivery."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)


def subscribers(site: Site) -> dict[str, Any]:
    """Plugin name → its ``on_event`` implementation, for the enabled plugins."""
    return {impl.plugin_name: impl for impl in site.view.pm.hook.on_event.get_hookimpls()}


def dispatch(site: Site, now: datetime | None = None, *, max_attempts: int = MAX_ATTEMPTS, worker: str = "") -> dict[str, int]:
    """Deliver what is due to every subscriber; returns subscriber → events handed over this pass."""
    now = as_utc(now or site.clock.now())
    handed = {}
    for name, impl in subscribers(site).items():
        if _lease(site, name, now, worker):
            try:
                handed[name] = _Delivery(site, name, impl, now, max_attempts).run()
            finally:
                with site.write() as conn:
                    conn.execute(sa.update(SUBSCRIBERS).where(SUBSCRIBERS.c.name == name).values(lease_until=None, lease_by=None))
    purge(site, now)
    return handed


def _lease(site: Site, name: str, now: datetime, worker: str) -> bool:
    """Hold subscriber ``name`` for this dispatcher (for :data:`LEASE`); False when another holds it."""
    try:
        with site.write() as conn:
            if conn.scalar(sa.select(SUBSCRIBERS.c.name).where(SUBSCRIBERS.c.name == name)) is None:
                conn.execute(sa.insert(SUBSCRIBERS).values(name=name, position=0))
    except sa.exc.IntegrityError:  # another dispatcher saw it first
        pass
    with site.write() as conn:
        held = conn.execute(
            sa.update(SUBSCRIBERS)
            .where(SUBSCRIBERS.c.name == name, sa.or_(SUBSCRIBERS.c.lease_until.is_(None), SUBSCRIBERS.c.lease_until <= now))
            .values(lease_until=now + LEASE, lease_by=worker[:120])
        )
        return held.rowcount == 1


class _Delivery:
    """One pass over one subscriber: its retries due, then the events after its position."""

    def __init__(self, site: Site, name: str, impl: Any, now: datetime, max_attempts: int):
        self.site, self.name, self.impl, self.now, self.max_attempts = site, name, impl, now, max_attempts
        self.handed = 0
        self.namespace = uuid.UUID(_namespace(site))

    def run(self) -> int:
        blocked = self._retry()
        for _ in range(MAX_BATCHES):
            if not self._next(blocked):
                break
        return self.handed

    def _call(self, row: Any, attempt: int) -> str | None:
        """Hand one event over; the error's text when the subscriber raised."""
        event = Event(
            str(uuid.uuid5(self.namespace, str(row.id))), row.name, row.entity, row.record_id, row.action, row.changes,
            {"id": row.actor_id, "label": row.actor, "channel": row.channel}, row.at, attempt,
        )
        self.handed += 1
        arguments = {"site": self.site, "event": event}
        try:
            self.impl.function(**{k: arguments[k] for k in self.impl.argnames})
        except Exception as exc:  # a subscriber's failure is kept and retried; it never stops the others
            log.warning("on_event of %s failed for event %s (%s): %s", self.name, event.id, row.name, exc)
            return f"{type(exc).__name__}: {exc}"[:1000]
        return None

    def _failed(self, attempts: int, error: str) -> dict[str, Any]:
        dead = attempts >= self.max_attempts
        return {"status": "dead" if dead else "retry", "attempts": attempts, "error": error, "next_at": self.now + backoff(attempts)}

    def _retry(self) -> set[tuple[str, int]]:
        """Deliver the held-back events that are due, in order per record; the records still held back."""
        query = (
            events_query()
            .add_columns(DELIVERIES.c.id.label("delivery_id"), DELIVERIES.c.attempts, DELIVERIES.c.next_at)
            .join(DELIVERIES, AUDIT.c.id == DELIVERIES.c.event)
            .where(DELIVERIES.c.subscriber == self.name, DELIVERIES.c.status == "retry")
            .order_by(None)
            .order_by(DELIVERIES.c.event)  # a record's audit ids grow in the order its writes committed
        )
        with self.site.engine.connect() as conn:
            rows = conn.execute(query).all()
        blocked: set[tuple[str, int]] = set()
        done, changed = [], []
        for row in rows:
            key = (row.entity, row.record_id)
            if key in blocked:
                continue
            if as_utc(row.next_at) > self.now:
                blocked.add(key)
                continue
            error = self._call(row, row.attempts + 1)
            if error is None:
                done.append(row.delivery_id)
                continue
            failed = self._failed(row.attempts + 1, error)
            changed.append({"_id": row.delivery_id, **failed, "updated_at": self.now})
            if failed["status"] == "retry":
                blocked.add(key)
        with self.site.write() as conn:
            if done:
                conn.execute(sa.delete(DELIVERIES).where(DELIVERIES.c.id.in_(done)))
            if changed:
                conn.execute(
                    sa.update(DELIVERIES).where(DELIVERIES.c.id == sa.bindparam("_id"))
                    .values(status=sa.bindparam("status"), attempts=sa.bindparam("attempts"), error=sa.bindparam("error"),
                            next_at=sa.bindparam("next_at"), updated_at=sa.bindparam("updated_at")),
                    changed,
                )
        return blocked

    def _next(self, blocked: set[tuple[str, int]]) -> bool:
        """Deliver the next batch after the subscriber's position; False when there was none."""
        with self.site.engine.connect() as conn:
            cursor = conn.execute(sa.select(SUBSCRIBERS.c.position, SUBSCRIBERS.c.entry).where(SUBSCRIBERS.c.name == self.name)).one()
            rows, position, entry = _read(conn, cursor.position or 0, cursor.entry or 0)
        if (position, entry) == (cursor.position, cursor.entry):
            return False
        held = []
        for row in rows:
            key = (row.entity, row.record_id)
            if key in blocked:  # waits behind an earlier event of its record, to be tried right after it
                held.append(self._held(row, {"status": "retry", "attempts": 0, "error": None, "next_at": self.now}))
                continue
            error = self._call(row, 1)
            if error is not None:
                failed = self._failed(1, error)
                held.append(self._held(row, failed))
                if failed["status"] == "retry":
                    blocked.add(key)
        with self.site.write() as conn:
            if held:
                conn.execute(sa.insert(DELIVERIES), held)
            conn.execute(
                sa.update(SUBSCRIBERS).where(SUBSCRIBERS.c.name == self.name)
                .values(position=position, entry=entry, lease_until=self.now + LEASE)
            )
        return True

    def _held(self, row: Any, state: dict[str, Any]) -> dict[str, Any]:
        return {"subscriber": self.name, "event": row.id, **state, "updated_at": self.now}


def _read(conn: sa.Connection, position: int, entry: int) -> tuple[list[Any], int, int]:
    """Up to :data:`BATCH` events after the cursor ``(position, entry)``, in commit order, and the cursor after them.

    The cursor is the last commit taken in full and, inside the next one, the last audit id
    looked at: a commit of any size is read in pieces. An audit id inside a commit's outer
    bounds but not in its ranges is another transaction's (PostgreSQL interleaves ids), skipped.
    """
    commits = conn.execute(sa.select(COMMITS).where(COMMITS.c.id > position).order_by(COMMITS.c.id).limit(BATCH)).all()
    rows: list[Any] = []
    for commit in commits:
        starts = [first for first, _ in commit.entries]
        top = commit.entries[-1][1]
        while True:
            wanted = BATCH - len(rows)
            if wanted == 0:
                return rows, position, entry  # the batch is full inside this commit
            found = conn.execute(events_query().where(AUDIT.c.id > max(entry, starts[0] - 1), AUDIT.c.id <= top).limit(wanted)).all()
            for row in found:
                at = bisect.bisect_right(starts, row.id) - 1
                if at >= 0 and row.id <= commit.entries[at][1]:
                    rows.append(row)
            if len(found) < wanted:
                break
            entry = found[-1].id
        position, entry = commit.id, 0
    return rows, position, entry


def purge(site: Site, now: datetime) -> int:
    """Forget commits older than :data:`KEEP_DAYS` that every subscriber has taken in full (their
    audit entries stay: they are the audit log)."""
    cutoff = now - timedelta(days=KEEP_DAYS)
    with site.write() as conn:
        lowest = conn.scalar(sa.select(sa.func.min(SUBSCRIBERS.c.position)))
        conditions = [COMMITS.c.at < cutoff]
        if lowest is not None:
            conditions.append(COMMITS.c.id <= lowest)
        return conn.execute(sa.delete(COMMITS).where(*conditions)).rowcount


#: Commits counted behind a subscriber before the count says "at least".
LAG_CAP = 10_000


def status(site: Site) -> list[dict[str, Any]]:
    """Each enabled subscriber's delivery, in name order: ``name``, ``behind`` (commits not yet
    taken, counted up to :data:`LAG_CAP`), ``behind_exact``, ``retrying`` and ``dead`` (events),
    ``lease_by`` and ``lease_until`` (the dispatcher delivering to it now, if any)."""
    names = sorted(subscribers(site))
    if not names:
        return []
    with site.engine.connect() as conn:
        cursors = {row.name: row for row in conn.execute(sa.select(SUBSCRIBERS).where(SUBSCRIBERS.c.name.in_(names)))}
        held = conn.execute(
            sa.select(DELIVERIES.c.subscriber, DELIVERIES.c.status, sa.func.count())
            .where(DELIVERIES.c.subscriber.in_(names))
            .group_by(DELIVERIES.c.subscriber, DELIVERIES.c.status)
        ).all()
        found = []
        for name in names:
            cursor = cursors.get(name)
            after = sa.select(COMMITS.c.id).where(COMMITS.c.id > (cursor.position if cursor else 0)).limit(LAG_CAP + 1).subquery()
            behind = conn.scalar(sa.select(sa.func.count()).select_from(after)) or 0
            counts = {status: count for subscriber, status, count in held if subscriber == name}
            lease = cursor.lease_until if cursor is not None and cursor.lease_until is not None else None
            found.append({
                "name": name, "behind": min(behind, LAG_CAP), "behind_exact": behind <= LAG_CAP,
                "retrying": counts.get("retry", 0), "dead": counts.get("dead", 0),
                "lease_by": cursor.lease_by if lease is not None and as_utc(lease) > site.clock.now() else None,
                "lease_until": as_utc(lease) if lease is not None else None,
            })
    return found


def dead_letters(site: Site, *, subscriber: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Dead letters, newest first, with their event, and how many there are in all."""
    conditions = [DELIVERIES.c.status == "dead", *([DELIVERIES.c.subscriber == subscriber] if subscriber else [])]
    events = events_query().subquery()
    query = (
        sa.select(
            DELIVERIES.c.id, DELIVERIES.c.subscriber, DELIVERIES.c.attempts, DELIVERIES.c.error, DELIVERIES.c.updated_at,
            events.c.id.label("event_id"), events.c.name.label("event"), events.c.entity, events.c.record_id, events.c.at,
        )
        .join(events, events.c.id == DELIVERIES.c.event)
        .where(*conditions)
        .order_by(DELIVERIES.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with site.engine.connect() as conn:
        total = conn.scalar(sa.select(sa.func.count()).select_from(DELIVERIES).where(*conditions)) or 0
        found = [dict(row._mapping) for row in conn.execute(query)]
    ids = event_ids(site, [row["event_id"] for row in found])
    return [{**row, "event_id": ids[row["event_id"]]} for row in found], total


def retry(site: Site, delivery_id: int) -> bool:
    """Send a dead letter again at the next pass (its attempts start over); False if there is none by that id."""
    with site.write() as conn:
        changed = conn.execute(
            sa.update(DELIVERIES)
            .where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.status == "dead")
            .values(status="retry", attempts=0, next_at=site.clock.now(), updated_at=site.clock.now())
        )
        return changed.rowcount == 1
