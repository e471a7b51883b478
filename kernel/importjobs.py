"""Import jobs: large files committed batch by batch with a checkpoint, resumed after a kill, undone.

Every import that writes is kept as a job (table ``kernel_import_jobs``) with the records it
created (``kernel_import_records``, with their row in the file). A small file is written all or
nothing (:func:`kernel.importing.import_rows`) and its job recorded in that same transaction. A
file past :data:`BATCHED_ROWS` rows (or any file, given a batch size) goes through
:func:`import_in_batches`: each batch of rows is one transaction that writes the records, their
audit entries, the job's list of created records and its checkpoint — the file's SHA-256 and
the last row committed. A process killed mid-batch (``kill -9``, power loss) loses that batch
whole, checkpoint included, so :func:`resume` (``crm import --resume``) starts again at the
first row not committed: no row is written twice and none is lost.

Python's cyclic garbage collector is paused while a batch is read, checked and written (process-wide,
as :mod:`kernel.timers` does for its batches): a batch's thousand rows, their dicts and validated
values live until its commit, so young collections found them alive and promoted them, and the full
collections that followed walked the whole heap — a fifth of an import's CPU time (measured
2026-12-02: 15 full collections, 1.7 s of 7.8 s, for 20,000 rows). Reference counting still frees what
a batch lets go; cycles wait for the collector, which runs again between batches.

A batch is checked on a read connection first (:meth:`kernel.importing.Writer.check`: references,
look-alikes, validation), so its write transaction only writes (and checks again only when a
record it depends on was written meanwhile); on SQLite, where that transaction holds the one
write lock, batches are sized to hold it about :data:`LOCK_TARGET` seconds (:class:`BatchSizes`).

In batches, a batch holding invalid rows is not written unless invalid rows may be skipped: the
job stops there (status ``stopped``) with the rows to fix; what earlier batches wrote stays, and
:func:`undo` (``crm import --undo JOB``) moves every record a job created to the recycle bin
through ``site.records.delete_many`` — audited, a batch at a time.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .errors import NotFound
from .importing import LISTED_ISSUES, CheckedBatch, ImportRefused, ImportReport, Sheet, SheetStream, Writer, prepare, row_reader
from .importupserts import Upsert
from .inserts import insert_rows
from .models import ImportedRecord, ImportJob, ImportMapping
from .timers import collector_paused

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

JOBS = ImportJob.__table__
MAPPINGS = ImportMapping.__table__
RECORDS = ImportedRecord.__table__
#: A file with more rows than this is imported in batches (each committed) unless told otherwise.
BATCHED_ROWS = 5_000
#: Rows per committed batch when none is given.
DEFAULT_BATCH = 1_000
#: Seconds a batch should hold SQLite's write lock (the size of the next batch follows); see :class:`BatchSizes`.
LOCK_TARGET = 0.15
#: Seconds SQLite's write lock is left free between two batches (at most as long as the last one held
#: it; checking the next batch counts): a writer waiting for the lock polls at least every 0.1 s, so it
#: gets its turn after one batch instead of losing every race to the next one.
LOCK_GAP = 0.1
#: The fewest rows a batch takes however slowly rows are written.
SMALLEST_BATCH = 50
#: Problem rows kept with a job (as report lines); the counts cover them all.
KEPT_ISSUES = 200
#: Records moved to the recycle bin per transaction by :func:`undo`.
UNDO_BATCH = 1_000


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Any) -> str:
    """The SHA-256 of a file on disk, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Job:
    """An import job as stored."""

    id: int
    entity: str
    filename: str
    file_hash: str
    user_id: int | None
    options: dict[str, Any]
    status: str
    rows: int
    last_row: int
    imported: int
    duplicates: int
    invalid: int
    issues: list[str]

    @property
    def finished(self) -> bool:
        return self.status in ("done", "undone")


def load(site: Site, job_id: int) -> Job:
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"no import job {job_id}")
    return _job(row)


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(**{name: m[name] for name in Job.__dataclass_fields__})


def latest_unfinished(site: Site) -> Job | None:
    """The most recent job that neither finished nor was undone (what ``crm import --resume`` picks)."""
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(JOBS).where(JOBS.c.status.in_(("running", "stopped"))).order_by(JOBS.c.id.desc()).limit(1)).first()
    return _job(row) if row is not None else None


def of_task(site: Site, task_id: int, file_hash: str) -> Job | None:
    """The job a background task began on this file (what a retry of the task resumes), if any."""
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(JOBS).where(JOBS.c.file_hash == file_hash).order_by(JOBS.c.id.desc()).limit(100)).all()
    return next((_job(row) for row in rows if (row.options or {}).get("task") == task_id), None)


def _insert_job(site: Site, conn: sa.Connection, actor: Actor, entity: str, rows: int, *, filename: str, file_hash: str, options: dict[str, Any], status: str) -> int:
    now = site.clock.now()
    return int(conn.execute(sa.insert(JOBS).values(
        entity=entity, filename=filename[:1000], file_hash=file_hash, user_id=actor.user_id, options=options, status=status,
        rows=rows, last_row=0, imported=0, duplicates=0, invalid=0, issues=[], created_at=now, updated_at=now,
    ).returning(JOBS.c.id)).scalar_one())


def _remember_created(conn: sa.Connection, job_id: int, created: list[tuple[int, int]]) -> None:
    if created:
        insert_rows(conn, RECORDS, [{"job_id": job_id, "record_id": id_, "row": number} for number, id_ in created])


def record_whole(
    site: Site, conn: sa.Connection, actor: Actor, report: ImportReport, created: list[tuple[int, int]], *,
    filename: str, file_hash: str, options: dict[str, Any], last_row: int,
) -> int:
    """Keep an all-or-nothing import as a finished job, in its own transaction ``conn``."""
    job_id = _insert_job(site, conn, actor, report.entity, report.rows, filename=filename, file_hash=file_hash, options=options, status="done")
    _remember_created(conn, job_id, created)
    conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id).values(
        last_row=last_row, imported=len(created), duplicates=report.skipped_duplicates, invalid=len(report.invalid_rows),
        issues=report.issue_lines(KEPT_ISSUES),
    ))
    return job_id


# -- batches -----------------------------------------------------------------------------------


class _Stop(Exception):
    """A batch held invalid rows that may not be skipped: it is rolled back and the job stops."""


def import_in_batches(
    site: Site,
    actor: Actor,
    entity_name: str,
    sheet: Sheet | SheetStream,
    *,
    filename: str,
    file_hash: str,
    batch_size: int = DEFAULT_BATCH,
    mapping: dict[str, str | None] | None = None,
    ignore_unknown: bool = False,
    skip_invalid: bool = False,
    on_duplicate: str = "skip",
    tzinfo: Any = timezone.utc,
    progress: Callable[[int, int], None] | None = None,
    upsert: Upsert | None = None,
    task: int | None = None,
) -> ImportReport:
    """Import ``sheet`` in batches of ``batch_size`` rows, each batch committed with the job's checkpoint
    (``task``: the background task running it, kept with the job so a retry of the task resumes it)."""
    if batch_size < 1:
        raise ImportRefused("the batch size must be a positive number of rows")
    options = {
        "mapping": mapping, "ignore_unknown": ignore_unknown, "skip_invalid": skip_invalid, "on_duplicate": on_duplicate, "batch": batch_size,
        "upsert": None if upsert is None else {"key": upsert.key, "policy": upsert.policy, "fields": upsert.fields},
    }
    if task is not None:
        options["task"] = task
    entity, _ = prepare(site, actor, entity_name, sheet, mapping=mapping, ignore_unknown=ignore_unknown, on_duplicate=on_duplicate)
    if upsert is not None:
        upsert.check(entity)
    with site.write() as conn:
        job_id = _insert_job(site, conn, actor, entity.name, sheet.count, filename=filename, file_hash=file_hash, options=options, status="running")
    return _run(site, actor, load(site, job_id), sheet, tzinfo=tzinfo, progress=progress)


def resume(
    site: Site, actor: Actor, job: Job, data: bytes | str, sheet: Sheet | SheetStream, *, tzinfo: Any = timezone.utc,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Go on with ``job`` from the first row after its checkpoint; ``data`` must be the same file
    (its bytes, or the SHA-256 of them)."""
    if job.finished:
        raise ImportRefused(f"import job {job.id} is {job.status}; there is nothing to resume")
    if (data if isinstance(data, str) else file_hash(data)) != job.file_hash:
        raise ImportRefused(f"{job.filename} changed since import job {job.id} began (its SHA-256 differs); import the new file as a new job")
    with site.write() as conn:
        conn.execute(sa.update(JOBS).where(JOBS.c.id == job.id).values(status="running", updated_at=site.clock.now()))
    return _run(site, actor, replace(job, status="running"), sheet, tzinfo=tzinfo, progress=progress)


def _run(site: Site, actor: Actor, job: Job, sheet: Sheet | SheetStream, *, tzinfo: Any, progress: Callable[[int, int], None] | None) -> ImportReport:
    options = job.options
    entity, columns = prepare(
        site, actor, job.entity, sheet, mapping=options.get("mapping"), ignore_unknown=options.get("ignore_unknown", False),
        on_duplicate=options.get("on_duplicate", "skip"),
    )
    skip_invalid = bool(options.get("skip_invalid"))
    total = sheet.count
    report = ImportReport(entity.name, total, columns, sheet.source, options.get("on_duplicate", "skip"), False, skip_invalid, unit=entity.unit)
    report.job = job.id
    with site.engine.connect() as conn:
        # 8 bytes an id (a list of ints takes ~36): what a million-row job keeps in memory
        report.ids = array("q", conn.scalars(sa.select(RECORDS.c.record_id).where(RECORDS.c.job_id == job.id).order_by(RECORDS.c.row)))  # type: ignore[assignment]
    upsert = Upsert(**options["upsert"]) if options.get("upsert") else None
    writer = Writer(site, replace(actor, channel="import"), entity.name, columns, report, upsert)
    counts = {"duplicates": job.duplicates, "invalid": job.invalid}
    issues = list(job.issues)
    done = 0
    sizes = BatchSizes(int(options.get("batch") or DEFAULT_BATCH), site.engine.dialect.name == "sqlite")
    rows = sheet.iter_rows()
    read = row_reader(columns, tzinfo)
    released = time.perf_counter()
    try:
        while part := list(itertools.islice(rows, sizes.next)):
            pending = [(number, cells) for number, cells in part if number > job.last_row]
            if pending:
                with collector_paused():  # a batch's rows, values, entries and documents: freed by reference counting when it ends
                    batch = [(number, read(cells)) for number, cells in pending]
                    writer.rows_by_id = {}  # earlier batches are committed: their records are named as stored ones
                    with site.engine.connect() as reading:  # the checks take no write lock
                        checked = writer.check(reading, batch)
                    time.sleep(sizes.pause(time.perf_counter() - released))
                    try:
                        held = _commit_batch(site, job.id, writer, checked, counts, issues, skip_invalid)
                        released = time.perf_counter()
                    except _Stop:
                        report.ids = report.ids[: len(report.ids) - len(writer.created)]
                        _finish(site, job.id, "stopped", issues + report.issue_lines(KEPT_ISSUES))
                        report.written, report.stopped = bool(report.ids), True
                        return report
                    del batch, checked
                report.trim(LISTED_ISSUES)
                sizes.written(len(pending), held)
            done += len(part)
            if progress is not None:
                progress(done, total)
    except Exception:  # a failed batch, or the caller stopping it (a task cancelled): resumable from its checkpoint
        _finish(site, job.id, "stopped", None)
        raise
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    _finish(site, job.id, "done", None)
    report.written = True
    return report


class BatchSizes:
    """How many rows the next batch takes: ``largest``, or, where the database has one writer at a
    time (SQLite), ``largest`` halved until the rows fit in :data:`LOCK_TARGET` seconds of write
    lock at the rate the last batch was written (never under :data:`SMALLEST_BATCH`), so that
    logins and other writes wait for at most about that long (:meth:`pause` leaves them a gap).
    Halving keeps the sizes few: each size is a statement shape the database and SQLAlchemy
    cache. The checkpoint is the last row committed, so batches of varying size resume alike."""

    def __init__(self, largest: int, one_writer: bool):
        self.largest, self.one_writer = largest, one_writer
        self.next = self._fitting(2 * SMALLEST_BATCH) if one_writer else largest  # a first guess, till a batch was timed
        self.held = 0.0

    def written(self, rows: int, seconds: float) -> None:
        if self.one_writer and rows:
            self.next = self._fitting(rows * LOCK_TARGET / max(seconds, 1e-6))
            self.held = seconds

    def pause(self, free_for: float) -> float:
        """Seconds to wait before the next write transaction, the lock having been free for ``free_for``
        (checking the batch): together :data:`LOCK_GAP`, or as long as the last batch held it if less."""
        return max(0.0, min(LOCK_GAP, self.held) - free_for) if self.one_writer else 0.0

    def _fitting(self, rows: float) -> int:
        size = self.largest
        while size > rows and size // 2 >= SMALLEST_BATCH:
            size //= 2
        return size


def _commit_batch(
    site: Site, job_id: int, writer: Writer, checked: CheckedBatch, counts: dict[str, int], issues: list[str], skip_invalid: bool,
) -> float:
    """One checked batch: its records, their audit, the job's record list and checkpoint, in one
    transaction; returns the seconds it held the write transaction."""
    report = writer.report
    before = (len(report.invalid), len(report.duplicates))
    writer.created = []
    batch = checked.rows
    with site.write() as conn:
        began = time.perf_counter()
        writer.store(conn, checked)
        new_invalid = report.invalid[before[0]:]
        if new_invalid and not skip_invalid:
            raise _Stop()
        new_duplicates = report.duplicates[before[1]:] if report.on_duplicate == "skip" else []
        _remember_created(conn, job_id, writer.created)
        counts["duplicates"] += len(new_duplicates)
        counts["invalid"] += len({issue.row for issue in new_invalid})
        room = KEPT_ISSUES - len(issues)
        if room > 0:
            issues.extend(str(issue) for issue in sorted([*new_invalid, *report.duplicates[before[1]:]], key=lambda i: i.row)[:room])
        conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id).values(
            last_row=batch[-1][0], imported=JOBS.c.imported + len(writer.created), duplicates=counts["duplicates"],
            invalid=counts["invalid"], issues=issues, updated_at=site.clock.now(),
        ))
    return time.perf_counter() - began  # the commit included


def _finish(site: Site, job_id: int, status: str, issues: list[str] | None) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": site.clock.now()}
    if issues is not None:
        values["issues"] = issues[:KEPT_ISSUES]
    with site.write() as conn:
        conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id).values(**values))


# -- undo --------------------------------------------------------------------------------------


def undo(site: Site, actor: Actor, job_id: int, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Move every record ``job_id`` created that still exists to the recycle bin, through the write
    path (``delete_many``: hooks, record rules, one audit entry each), :data:`UNDO_BATCH` per
    transaction; returns how many. Run again after an interruption, it goes on with the rest."""
    job = load(site, job_id)
    if job.status == "running":
        raise ImportRefused(f"import job {job.id} is still running (or was killed): resume it first, or wait for it to stop")
    entity = site.view.entity(job.entity)
    if entity is None:
        raise ImportRefused(f"import job {job.id} imported {job.entity}, which is not enabled")
    table = entity.table
    with site.engine.connect() as conn:
        ids = list(conn.scalars(
            sa.select(RECORDS.c.record_id).join(table, table.c.id == RECORDS.c.record_id).where(RECORDS.c.job_id == job.id).order_by(RECORDS.c.record_id)
        ))
    removed = 0
    for start in range(0, len(ids), UNDO_BATCH):
        removed += len(site.records.delete_many(replace(actor, channel="import"), job.entity, ids=ids[start : start + UNDO_BATCH]))
        if progress is not None:
            progress(removed, len(ids))
    _finish(site, job.id, "undone", None)
    return removed


# -- saved mappings ----------------------------------------------------------------------------


def save_mapping(site: Site, entity: str, name: str, mapping: dict[str, str | None]) -> None:
    """Keep ``mapping`` (header → field, ``None`` to leave the column out) under ``name`` for ``entity``, replacing one of that name."""
    if not name.strip() or len(name) > 100:
        raise ImportRefused("a mapping's name must have 1 to 100 characters")
    with site.write() as conn:
        conn.execute(sa.delete(MAPPINGS).where(MAPPINGS.c.entity == entity, MAPPINGS.c.name == name))
        conn.execute(sa.insert(MAPPINGS).values(entity=entity, name=name, mapping=dict(mapping), updated_at=site.clock.now()))


def saved_mapping(site: Site, entity: str, name: str) -> dict[str, str | None]:
    with site.engine.connect() as conn:
        found = conn.scalar(sa.select(MAPPINGS.c.mapping).where(MAPPINGS.c.entity == entity, MAPPINGS.c.name == name))
    if found is None:
        raise ImportRefused(f"no mapping named {name!r} is saved for {entity}")
    return dict(found)
