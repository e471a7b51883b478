"""Periodic jobs declared by plugins, and the runner that makes each slot run once.

A job runs every ``every``; time is cut into slots of that length (counted from
the Unix epoch) and a run claims its slot by inserting ``(job, slot)`` into
``kernel_job_runs``, whose unique key lets exactly one process win, on SQLite
and PostgreSQL alike, however many workers ask. A job should handle
*everything due as of* ``now`` (every overdue record, not one), so a missed slot
is caught up by the next run.

``crm serve`` and ``crm worker`` ask for due jobs on an APScheduler interval, and
fire due per-record timers (:mod:`kernel.timers`) on another; ``crm jobs run --now``
does both once, as of a given time.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .clock import as_utc
from .models import JobRun
from .timers import schedule_tick
from .outbox import dispatch

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from .site import Site

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
RUNS = JobRun.__table__
OUTBOX_SECONDS = 5.0  # how often serve/worker deliver outbox events (at most; jobs_interval_seconds if shorter)


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run(site=, now=)`` is called once per slot of length ``every``."""

    name: str  # "plugin.job", e.g. "notes.archive_stale"
    every: timedelta
    run: Callable[..., Any]
    label: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise ValueError(f"job {self.name!r} must run every positive interval, not {self.every}")

    def slot(self, now: datetime) -> datetime:
        """The start of the slot ``now`` falls in."""
        return EPOCH + (as_utc(now) - EPOCH) // self.every * self.every


@dataclass(frozen=True)
class Outcome:
    job: str
    slot: datetime
    status: str  # "done", "failed" or "skipped" (another process has the slot)
    result: Any = None
    error: str | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_due_jobs(site: Site, now: datetime | None = None, *, only: str | None = None) -> list[Outcome]:
    """Run every enabled job whose current slot (as of ``now``) has not run yet."""
    now = as_utc(now or site.clock.now())
    outcomes = []
    for job in site.view.jobs.values():
        if only is None or job.name == only:
            outcomes.append(run_job(site, job, now))
    return outcomes


def run_job(site: Site, job: Job, now: datetime) -> Outcome:
    slot = job.slot(now)
    started = site.clock.now()
    try:
        with site.write() as conn:
            run_id = conn.execute(
                sa.insert(RUNS)
                .values(job=job.name, slot=slot, started_at=started, status="running", worker=worker_name())
                .returning(RUNS.c.id)
            ).scalar_one()
    except sa.exc.IntegrityError:
        return Outcome(job.name, slot, "skipped")
    try:
        result = job.run(site=site, now=now)
    except Exception as exc:  # a failing job is recorded and retried next slot; it never stops the runner
        log.exception("job %s failed", job.name)
        _finish(site, run_id, "failed", "".join(traceback.format_exception_only(exc)).strip())
        return Outcome(job.name, slot, "failed", error=str(exc))
    _finish(site, run_id, "done", None)
    return Outcome(job.name, slot, "done", result)


def _finish(site: Site, run_id: int, status: str, error: str | None) -> None:
    with site.write() as conn:
        conn.execute(
            sa.update(RUNS).where(RUNS.c.id == run_id).values(status=status, error=error, finished_at=site.clock.now())
        )


def recent_runs(site: Site, limit: int = 50) -> list[dict[str, Any]]:
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(RUNS).order_by(RUNS.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]


def schedule(scheduler: BaseScheduler, site: Site) -> None:
    """Ask for due jobs, and fire due per-record timers (:mod:`kernel.timers`), every
    ``jobs_interval_seconds``, and deliver outbox events (:mod:`kernel.outbox`) every
    :data:`OUTBOX_SECONDS` at most, on an APScheduler scheduler."""

    def tick() -> None:
        try:
            run_due_jobs(site)
        except Exception:  # keep ticking: the next interval may find the database back
            log.exception("looking for due jobs failed")

    def deliver() -> None:
        try:
            dispatch(site, worker=worker_name())
        except Exception:  # likewise
            log.exception("delivering outbox events failed")

    scheduler.add_job(
        deliver,
        "interval",
        seconds=min(OUTBOX_SECONDS, site.settings.jobs_interval_seconds),
        id="crm.outbox",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(timezone.utc),
    )
    scheduler.add_job(
        tick,
        "interval",
        seconds=site.settings.jobs_interval_seconds,
        id="crm.due_jobs",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(timezone.utc),
    )
    scheduler.add_job(
        schedule_tick(site),
        "interval",
        seconds=site.settings.jobs_interval_seconds,
        id="crm.due_timers",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(timezone.utc),
    )
