"""The outbox: every committed write leaves an event, delivered after commit to ``on_event``.

Writing. Every audit entry about a record (:func:`kernel.audit.write`: creates, updates,
deletes, restores, transitions, actions) becomes an event in ``kernel_outbox``, in the
write's own transaction: the events are kept on the connection and inserted, in one
statement, just before it commits, so a rolled-back write (or savepoint) leaves none.
A set-based write (:mod:`kernel.batches`) has its events copied from its audit entries
in SQL (:func:`append_audited`).
The audit action names the event (:func:`event_name`)::

    create → ENTITY.created    update → ENTITY.updated    delete → ENTITY.deleted
    restore → ENTITY.restored  transition → ENTITY.transition
    any other action A (assign, close, merged_into…) → ENTITY.A

Entries that are no write (logins, tokens, exports) or name no record make no event.
On PostgreSQL the insert takes a transaction-level advisory lock held until the commit
right after it, so event ids grow in commit order and a reader never skips an event
committed late (on SQLite one writer at a time gives the same).

Delivering. :func:`dispatch` (run by ``crm serve``/``crm worker`` beside the jobs)
hands each event to every plugin implementing ``on_event`` — a *subscriber*, tracked
apart — at least once, in id order per record, with its stable ``id``: a UUID derived
from the row's id and a random namespace the site keeps (:func:`event_ids`), the same on
a redelivery and costing the write nothing. A failing event is retried with backoff and holds back the
later events of the same record for that subscriber only; after :data:`MAX_ATTEMPTS`
it becomes a dead letter (:func:`dead_letters`, :func:`retry`, ``GET
/api/v1/outbox/dead``), which stops holding the record back. A subscriber seen for
the first time starts at the oldest event kept (events are kept :data:`KEEP_DAYS`).
"""

from __future__ import annotations

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
from .db import ids_in
from .models import AuditEntry, OutboxDelivery, OutboxEvent, OutboxSubscriber, Secret

if TYPE_CHECKING:
    from .site import Site

log = logging.getLogger(__name__)
EVENTS = OutboxEvent.__table__
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
BATCH = 500  # events read at a time
MAX_BATCHES = 40  # per subscriber and pass, so that one pass ends while writes go on
LEASE = timedelta(minutes=5)  # how long a dispatcher holds a subscriber before another may take it
KEEP_DAYS = 7  # events delivered to every subscriber are deleted after this many days
_ready: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose database has the outbox table
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


def append(conn: sa.Connection, entries: Iterable[Mapping[str, Any]]) -> None:
    """Keep the events of these audit entries on ``conn``; inserted just before it commits."""
    rows = [
        {
            "name": event_name(e["entity"], e["action"]),
            "entity": e["entity"],
            "record_id": e["record_id"],
            "action": e["action"],
            "changes": e["changes"],
            "actor_id": e["actor_id"],
            "actor": e["actor"],
            "channel": e["channel"],
            "at": e["at"],
        }
        for e in entries
        if e["record_id"] is not None and e["action"] not in NOT_WRITES
    ]
    if rows:
        _pending(conn).extend(rows)


def append_audited(conn: sa.Connection, audit_ids: Sequence[int]) -> None:
    """Like :func:`append`, for audit entries already inserted (set-based writes): their events are
    copied from ``kernel_audit`` in SQL, in one statement, just before ``conn`` commits."""
    if not audit_ids:
        return
    audit = AuditEntry.__table__
    suffix = sa.case(*((audit.c.action == action, name) for action, name in EVENT_NAMES.items()), else_=audit.c.action)
    columns = ("entity", "record_id", "action", "changes", "actor_id", "actor", "channel", "at")
    query = (
        sa.select(audit.c.entity + "." + suffix, *(audit.c[c] for c in columns))
        .where(_among(audit.c.id, audit_ids, conn.dialect.name))
        .order_by(audit.c.id)
    )
    _pending(conn).append(sa.insert(EVENTS).from_select(["name", *columns], query))


def _among(column: sa.ColumnElement[int], ids: Sequence[int], dialect: str) -> sa.ColumnElement[bool]:
    """``column IN ids``; a range when the ids are one (as one statement's inserts are on SQLite)."""
    first, last = min(ids), max(ids)
    if last - first + 1 == len(ids):
        return column.between(first, last)
    return ids_in(column, ids, dialect)


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


def _pending(conn: sa.Connection) -> list[Any]:
    """What ``conn`` inserts at commit: event rows (dicts) and INSERT … SELECT statements, in order."""
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
    rows = conn.info.pop(_PENDING, None)
    conn.info.pop(_SAVEPOINTS, None)
    if not rows or not _table_exists(conn):
        return
    if conn.dialect.name == "postgresql":  # ids in commit order: held until the commit that follows
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.kernel_outbox'))"))
    batch: list[dict[str, Any]] = []
    for item in [*rows, None]:
        if isinstance(item, dict):
            batch.append(item)
            continue
        if batch:
            conn.execute(sa.insert(EVENTS), batch)
            batch = []
        if item is not None:
            conn.execute(item)


def _table_exists(conn: sa.Connection) -> bool:
    """Whether the kernel's migrations made the outbox yet (a database written before upgrading has none).

    Asked of the database until the answer is yes, then never again for this engine."""
    if conn.engine in _ready:
        return True
    if not sa.inspect(conn).has_table(EVENTS.name):
        log.warning("events of a write dropped: this database has no %s table yet (run 'crm db upgrade')", EVENTS.name)
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
            sa.select(DELIVERIES.c.id.label("delivery_id"), DELIVERIES.c.attempts, DELIVERIES.c.next_at, EVENTS)
            .join(EVENTS, EVENTS.c.id == DELIVERIES.c.event)
            .where(DELIVERIES.c.subscriber == self.name, DELIVERIES.c.status == "retry")
            .order_by(DELIVERIES.c.event)
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
            position = conn.scalar(sa.select(SUBSCRIBERS.c.position).where(SUBSCRIBERS.c.name == self.name)) or 0
            rows = conn.execute(sa.select(EVENTS).where(EVENTS.c.id > position).order_by(EVENTS.c.id).limit(BATCH)).all()
        if not rows:
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
                .values(position=rows[-1].id, lease_until=self.now + LEASE)
            )
        return len(rows) == BATCH

    def _held(self, row: Any, state: dict[str, Any]) -> dict[str, Any]:
        return {"subscriber": self.name, "event": row.id, **state, "updated_at": self.now}


def purge(site: Site, now: datetime) -> int:
    """Delete events older than :data:`KEEP_DAYS` that every subscriber is past and none holds."""
    cutoff = now - timedelta(days=KEEP_DAYS)
    with site.write() as conn:
        lowest = conn.scalar(sa.select(sa.func.min(SUBSCRIBERS.c.position)))
        conditions = [EVENTS.c.at < cutoff, ~sa.exists().where(DELIVERIES.c.event == EVENTS.c.id)]
        if lowest is not None:
            conditions.append(EVENTS.c.id <= lowest)
        return conn.execute(sa.delete(EVENTS).where(*conditions)).rowcount


def dead_letters(site: Site, *, subscriber: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Dead letters, newest first, with their event, and how many there are in all."""
    conditions = [DELIVERIES.c.status == "dead", *([DELIVERIES.c.subscriber == subscriber] if subscriber else [])]
    query = (
        sa.select(
            DELIVERIES.c.id, DELIVERIES.c.subscriber, DELIVERIES.c.attempts, DELIVERIES.c.error, DELIVERIES.c.updated_at,
            EVENTS.c.id.label("event_id"), EVENTS.c.name.label("event"), EVENTS.c.entity, EVENTS.c.record_id, EVENTS.c.at,
        )
        .join(EVENTS, EVENTS.c.id == DELIVERIES.c.event)
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
