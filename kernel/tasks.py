"""One-off background tasks: enqueued in the database, run once by whichever worker claims them.

A plugin declares what it can run with ``register_task_kinds`` (a :class:`TaskKind` each) and
enqueues work with :func:`enqueue`, inside the write transaction that asks for it when there is
one, so the task exists exactly when that write commits. ``crm serve`` (SQLite) and ``crm worker``
(PostgreSQL) claim due tasks on an interval and call the kind's ``run(context)`` outside any
transaction; the :class:`TaskContext` reports progress (``done``/``total``/``message``), renews the
claim and tells the handler when it was cancelled.

A claim is a lease: the claiming worker owns the task until ``lease_until``, pushed forward by
every progress call. Claiming is one conditional ``UPDATE`` on a row picked with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, or inside SQLite's ``BEGIN IMMEDIATE``, so two workers
never hold the same task. A worker killed mid-task stops renewing its lease; once the lease has
expired another worker claims the task again (a new attempt, counted). The attempt number fences
every later write: a worker whose lease was taken over finds out at its next progress call
(:class:`TaskLost`) and its result is discarded. So a handler runs *at least once* per
successful task and never twice at the same time; a handler whose effects must happen once
keeps its own checkpoint (rows it marks as done in the transaction that writes them).

A failing attempt is retried after ``backoff`` × 2^(attempt-1) until ``max_attempts``, then the
task is ``failed`` with the last error kept. Statuses: ``queued`` → ``running`` → ``done`` /
``failed`` / ``cancelled`` (a queued task is cancelled at once; a running one when its handler
next reports progress). Finished tasks are kept ``task_retention_days`` (``[crm]``, default 7),
then removed by the job ``kernel.purge_tasks``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from .audit import jsonable
from .errors import Conflict, NotFound, PluginError, ValidationError
from .jobs import worker_name
from .models import Task, User
from .permissions import is_admin

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

log = logging.getLogger(__name__)
TASKS = Task.__table__
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINISHED = (DONE, FAILED, CANCELLED)
#: A payload's size, as JSON; a task carries references (an upload's id), not the data.
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_MESSAGE = 500
MAX_ERROR = 4000
#: A retry waits at most this long, however many attempts failed.
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class TaskKind:
    """What a plugin can run in the background: ``run(context)`` returns the task's JSON result.

    ``name`` is ``plugin.kind`` (``notes.reindex``); ``label`` is ``{"en": ..., "zh_CN": ...}``.
    A claim lasts ``lease`` past the last progress call; a failed attempt is retried after
    ``backoff`` × 2^(attempt-1), up to ``max_attempts`` attempts in all (unless :func:`enqueue`
    says otherwise).
    """

    name: str
    run: Callable[[TaskContext], Any]
    label: dict[str, str] = field(default_factory=dict)
    max_attempts: int = 3
    lease: timedelta = timedelta(minutes=5)
    backoff: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.lease <= timedelta(0) or self.backoff < timedelta(0):
            raise ValueError(f"task kind {self.name!r}: max_attempts ≥ 1, a positive lease and a backoff ≥ 0 are required")


class TaskCancelled(Exception):
    """Raised by :meth:`TaskContext.progress` when the task was cancelled: let it propagate."""


class TaskLost(Exception):
    """Raised by :meth:`TaskContext.progress` when this worker's claim expired and another worker took the task."""


@dataclass(frozen=True)
class TaskOutcome:
    """What one claim ended in: ``done``, ``retry`` (failed, queued again), ``failed``, ``cancelled`` or ``lost``."""

    task_id: int
    kind: str
    status: str
    attempt: int
    result: Any = None
    error: str | None = None


class TaskContext:
    """What a handler gets: the task's ``payload``, who asked (``actor``), the ``attempt`` number,
    and :meth:`progress` to report, keep its claim and learn of a cancellation."""

    def __init__(self, site: Site, row: Any, kind: TaskKind, actor: Actor):
        self.site = site
        self.task_id: int = row.id
        self.kind = kind
        self.payload: Any = row.payload
        self.attempt: int = row.attempts
        self.max_attempts: int = row.max_attempts
        self.actor = actor
        self.done: int = row.progress_done
        self.total: int | None = row.progress_total

    def progress(self, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        """Record progress (what is not given stays) and renew the claim, in a short transaction of its own.

        Call it per batch, not per row. Raises :class:`TaskCancelled` once the task was cancelled
        and :class:`TaskLost` when another worker took it over; both should simply propagate.
        """
        values: dict[str, Any] = {}
        if done is not None:
            values["progress_done"] = self.done = int(done)
        if total is not None:
            values["progress_total"] = self.total = int(total)
        if message is not None:
            values["message"] = str(message)[:MAX_MESSAGE]
        now = self.site.clock.now()
        with self.site.write() as conn:
            cancel = conn.execute(
                sa.update(TASKS)
                .where(TASKS.c.id == self.task_id, TASKS.c.status == RUNNING, TASKS.c.attempts == self.attempt)
                .values(**values, lease_until=now + self.kind.lease, updated_at=now)
                .returning(TASKS.c.cancel_requested)
            ).scalar()
        if cancel is None:
            raise TaskLost(f"task {self.task_id}: attempt {self.attempt} lost its claim to another worker")
        if cancel:
            raise TaskCancelled(f"task {self.task_id} was cancelled")

    def heartbeat(self) -> None:
        """Renew the claim without new progress (same exceptions as :meth:`progress`)."""
        self.progress()

    def cancelled(self) -> bool:
        """Whether someone asked to cancel the task (reads the database; raises nothing)."""
        with self.site.engine.connect() as conn:
            return bool(conn.scalar(sa.select(TASKS.c.cancel_requested).where(TASKS.c.id == self.task_id)))


# -- the registry ------------------------------------------------------------------------------


def task_kinds(site: Site) -> dict[str, TaskKind]:
    """Every task kind the enabled plugins register, by name."""
    kinds: dict[str, TaskKind] = {}
    for impl in site.view.pm.hook.register_task_kinds.get_hookimpls():
        for kind in impl.function() or ():
            if not isinstance(kind, TaskKind):
                raise PluginError(f"plugin {impl.plugin_name!r}: register_task_kinds must return TaskKind objects, got {kind!r}")
            if kind.name in kinds:
                raise PluginError(f"task kind {kind.name!r} is registered by two plugins")
            kinds[kind.name] = kind
    return kinds


# -- enqueueing --------------------------------------------------------------------------------


def enqueue(
    site: Site,
    kind: str,
    payload: Any = None,
    *,
    actor: Actor,
    conn: sa.Connection | None = None,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
) -> int:
    """Queue a task of ``kind`` with a JSON ``payload``; returns its id.

    Pass the write transaction's ``conn`` to enqueue as part of it (rolled back with it);
    without one the task is written in a transaction of its own. ``run_at`` delays it.
    """
    known = task_kinds(site)
    if kind not in known:
        raise ValidationError.at(["kind"], f"unknown task kind {kind!r}")
    attempts = known[kind].max_attempts if max_attempts is None else max_attempts
    if not isinstance(attempts, int) or attempts < 1:
        raise ValidationError.at(["max_attempts"], "must be a whole number of at least 1")
    try:
        size = len(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS))
    except TypeError as exc:
        raise ValidationError.at(["payload"], f"must be JSON ({exc})") from None
    if size > MAX_PAYLOAD_BYTES:
        raise ValidationError.at(["payload"], f"is {size} bytes as JSON; at most {MAX_PAYLOAD_BYTES} (pass references, not data)")
    now = site.clock.now()
    values = {
        "kind": kind,
        "status": QUEUED,
        "payload": payload,
        "attempts": 0,
        "max_attempts": attempts,
        "run_at": run_at or now,
        "progress_done": 0,
        "cancel_requested": False,
        "created_by": actor.user_id,
        "actor": actor.label[:254],
        "created_at": now,
        "updated_at": now,
    }
    insert = sa.insert(TASKS).values(**values).returning(TASKS.c.id)
    if conn is not None:
        return conn.execute(insert).scalar_one()
    with site.write() as own:
        return own.execute(insert).scalar_one()


# -- claiming and running ----------------------------------------------------------------------


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(TASKS.c.status == QUEUED, TASKS.c.run_at <= now),
        sa.and_(TASKS.c.status == RUNNING, TASKS.c.lease_until < now),
    )


def claim(site: Site, worker: str | None = None) -> tuple[Any, TaskKind] | None:
    """Take the next due task (or one whose worker's lease expired) for this worker, or ``None``.

    A task whose lease expired after its last allowed attempt is failed here, and one whose
    cancellation its lost worker never saw is cancelled, before looking further.
    """
    worker = worker or worker_name()
    kinds = task_kinds(site)
    if not kinds:
        return None
    postgres = site.engine.dialect.name == "postgresql"
    while True:
        now = site.clock.now()
        with site.write() as conn:
            pick = (
                sa.select(TASKS.c.id, TASKS.c.kind, TASKS.c.status, TASKS.c.attempts, TASKS.c.max_attempts, TASKS.c.cancel_requested)
                .where(_claimable(now), TASKS.c.kind.in_(list(kinds)))
                .order_by(TASKS.c.run_at, TASKS.c.id)
                .limit(1)
            )
            if postgres:
                pick = pick.with_for_update(skip_locked=True)
            found = conn.execute(pick).first()
            if found is None:
                return None
            settled = _settle_abandoned(conn, found, now)
            if settled:
                continue
            kind = kinds[found.kind]
            row = conn.execute(
                sa.update(TASKS)
                .where(TASKS.c.id == found.id, TASKS.c.attempts == found.attempts, _claimable(now))
                .values(
                    status=RUNNING,
                    attempts=TASKS.c.attempts + 1,
                    lease_until=now + kind.lease,
                    worker=worker[:120],
                    started_at=now,
                    updated_at=now,
                )
                .returning(*TASKS.c)
            ).first()
            if row is not None:
                return row, kind


def _settle_abandoned(conn: sa.Connection, found: Any, now: datetime) -> bool:
    """Finish a task whose worker vanished when it may not run again; ``True`` when it did."""
    if found.status != RUNNING:
        return False
    if found.cancel_requested:
        values = {"status": CANCELLED, "error": None}
    elif found.attempts >= found.max_attempts:
        values = {"status": FAILED, "error": f"the worker running attempt {found.attempts} stopped answering (its lease expired)"}
    else:
        return False
    conn.execute(
        sa.update(TASKS)
        .where(TASKS.c.id == found.id, TASKS.c.attempts == found.attempts)
        .values(**values, lease_until=None, finished_at=now, updated_at=now)
    )
    return True


def run_next(site: Site, worker: str | None = None) -> TaskOutcome | None:
    """Claim one task and run it to its end; ``None`` when nothing is due."""
    claimed = claim(site, worker)
    if claimed is None:
        return None
    row, kind = claimed
    context = TaskContext(site, row, kind, _actor_of(site, row))
    try:
        result = kind.run(context)
        encoded = jsonable(result)
        orjson.dumps(encoded, option=orjson.OPT_NON_STR_KEYS)
    except TaskCancelled:
        return _finish(context, CANCELLED)
    except TaskLost as exc:
        log.warning("%s", exc)
        return TaskOutcome(row.id, kind.name, "lost", row.attempts, error=str(exc))
    except Exception as exc:  # a failing handler is recorded and retried; it never stops the runner
        log.exception("task %s (%s) attempt %s failed", row.id, kind.name, row.attempts)
        error = "".join(traceback.format_exception_only(exc)).strip()[:MAX_ERROR]
        return _finish(context, FAILED, error=error)
    return _finish(context, DONE, result=encoded)


def _finish(context: TaskContext, status: str, *, result: Any = None, error: str | None = None) -> TaskOutcome:
    now = context.site.clock.now()
    values: dict[str, Any] = {"status": status, "result": result, "error": error, "lease_until": None, "updated_at": now}
    outcome = status
    if status == FAILED and context.attempt < context.max_attempts:
        outcome = "retry"
        delay = min(context.kind.backoff * 2 ** (context.attempt - 1), MAX_BACKOFF)
        values.update(status=QUEUED, run_at=now + delay)
    else:
        values["finished_at"] = now
    with context.site.write() as conn:
        written = conn.execute(
            sa.update(TASKS)
            .where(TASKS.c.id == context.task_id, TASKS.c.status == RUNNING, TASKS.c.attempts == context.attempt)
            .values(**values)
        ).rowcount
    if not written:
        outcome, error = "lost", f"task {context.task_id}: attempt {context.attempt} lost its claim; its outcome was dropped"
        log.warning("%s", error)
    return TaskOutcome(context.task_id, context.kind.name, outcome, context.attempt, result, error)


def _actor_of(site: Site, row: Any) -> Actor:
    """The task runs on behalf of whoever enqueued it, with their current role (channel ``task``)."""
    from .records import Actor

    if row.created_by is None:
        return Actor.system("task")
    with site.engine.connect() as conn:
        user = conn.execute(sa.select(User.email, User.role, User.team_id).where(User.id == row.created_by)).first()
    if user is None:
        return Actor(user_id=row.created_by, label=row.actor, role=None, channel="task")
    return Actor(user_id=row.created_by, label=user.email, role=user.role, team_id=user.team_id, channel="task")


def run_due_tasks(site: Site, *, limit: int = 100, worker: str | None = None) -> list[TaskOutcome]:
    """Run due tasks one after another until none is due or ``limit`` ran."""
    outcomes: list[TaskOutcome] = []
    while len(outcomes) < limit:
        outcome = run_next(site, worker)
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes


def schedule(scheduler: Any, site: Site, *, threads: int = 1) -> None:
    """Look for due tasks every ``tasks_interval_seconds`` on an APScheduler scheduler, ``threads`` at a time."""

    def tick() -> None:
        try:
            run_due_tasks(site)
        except Exception:  # keep ticking: the next interval may find the database back
            log.exception("looking for due tasks failed")

    scheduler.add_job(
        tick,
        "interval",
        seconds=site.settings.tasks_interval_seconds,
        id="crm.due_tasks",
        max_instances=max(1, threads),
        coalesce=True,
        next_run_time=datetime.now(timezone.utc),
    )


# -- reading and cancelling --------------------------------------------------------------------


def _visible(actor: Actor) -> sa.ColumnElement[bool]:
    if is_admin(actor):
        return sa.true()
    if actor.user_id is None:
        return sa.false()
    return TASKS.c.created_by == actor.user_id


def describe(row: Any, kinds: dict[str, TaskKind]) -> dict[str, Any]:
    """A task as the API shows it."""
    kind = kinds.get(row.kind)
    total = row.progress_total
    percent = None
    if total:
        percent = max(0, min(100, round(100 * row.progress_done / total)))
    elif row.status == DONE:
        percent = 100
    return jsonable({
        "id": row.id,
        "kind": row.kind,
        "label": kind.label if kind is not None else {},
        "status": row.status,
        "progress": {"done": row.progress_done, "total": total, "percent": percent, "message": row.message},
        "cancel_requested": row.cancel_requested,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "created_by": row.created_by,
        "actor": row.actor,
        "created_at": row.created_at,
        "run_at": row.run_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "result": row.result,
        "error": row.error,
    })


def get(site: Site, actor: Actor, task_id: int) -> dict[str, Any]:
    """One task the actor may see (their own; an admin: any), else :class:`NotFound`."""
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(TASKS).where(TASKS.c.id == task_id, _visible(actor))).first()
    if row is None:
        raise NotFound(f"no task with id {task_id}")
    return describe(row, task_kinds(site))


def list_tasks(
    site: Site, actor: Actor, *, status: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """The actor's tasks (an admin: everyone's), newest first: ``{"items", "total", "limit", "offset"}``."""
    if status is not None and status not in STATUSES:
        raise ValidationError.at(["query", "status"], f"must be one of {', '.join(STATUSES)}")
    where = [_visible(actor)]
    if status is not None:
        where.append(TASKS.c.status == status)
    if kind is not None:
        where.append(TASKS.c.kind == kind)
    with site.engine.connect() as conn:
        total = conn.scalar(sa.select(sa.func.count()).select_from(TASKS).where(*where))
        rows = conn.execute(sa.select(TASKS).where(*where).order_by(TASKS.c.id.desc()).limit(limit).offset(offset)).all()
    kinds = task_kinds(site)
    return {"items": [describe(row, kinds) for row in rows], "total": total, "limit": limit, "offset": offset}


def cancel(site: Site, actor: Actor, task_id: int) -> dict[str, Any]:
    """Cancel a queued task at once, or ask a running one to stop; a finished task is a :class:`Conflict`."""
    now = site.clock.now()
    with site.write() as conn:
        row = conn.execute(sa.select(TASKS.c.status).where(TASKS.c.id == task_id, _visible(actor))).first()
        if row is None:
            raise NotFound(f"no task with id {task_id}")
        if row.status in FINISHED:
            raise Conflict(f"task {task_id} is already {row.status}", [{"loc": ["status"], "msg": f"already {row.status}"}])
        if row.status == QUEUED:
            values = {"status": CANCELLED, "cancel_requested": True, "finished_at": now}
        else:
            values = {"cancel_requested": True}
        conn.execute(sa.update(TASKS).where(TASKS.c.id == task_id, TASKS.c.status == row.status).values(**values, updated_at=now))
    return get(site, actor, task_id)


# -- retention ---------------------------------------------------------------------------------


def purge_finished_tasks(site: Site, now: datetime) -> int:
    """Remove tasks finished more than ``task_retention_days`` before ``now``; returns how many."""
    cutoff = now - timedelta(days=site.settings.task_retention_days)
    with site.write() as conn:
        return conn.execute(sa.delete(TASKS).where(TASKS.c.status.in_(FINISHED), TASKS.c.finished_at < cutoff)).rowcount
