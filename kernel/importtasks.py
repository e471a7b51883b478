"""The import page's work as background tasks (:mod:`kernel.tasks`): task kind ``kernel.import``.

The page never reads a whole file nor writes a row on the event loop. Its check (a dry run of
every row) and its import are tasks a worker runs, reading the uploaded file a row at a time
from the database (:mod:`kernel.uploadparts`, :class:`kernel.filereading.SheetStream`):

- ``check``: :func:`kernel.importing.import_rows` with ``dry_run`` — on SQLite in a private copy
  of the database, so it holds no lock of the live one;
- ``import``: :func:`kernel.importjobs.import_in_batches` — each batch one transaction with its
  checkpoint, so SQLite's write lock is never held longer than a batch; a task retried after
  its worker died resumes the job it began (found by the task's id) instead of starting over.

The task's progress is the rows done of the rows in the file (what the page's progress bar
polls), its result the report: counts, the job, and the problem rows (row, column, reason;
at most :data:`RESULT_ISSUES`), which the page shows and offers as an XLSX download.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import importing, importjobs
from .models import Upload
from .tasks import TaskContext, TaskKind
from .timezones import zone
from .uploadparts import open_upload

if TYPE_CHECKING:
    from .site import Site

KIND = "kernel.import"
UPLOADS = Upload.__table__
#: Problem rows a task's result lists (the counts cover them all).
RESULT_ISSUES = 10_000
#: Progress is written at most this often (each report is a short write of its own).
PROGRESS_SECONDS = 1.0


def task_kind() -> TaskKind:
    return TaskKind(KIND, run, {"en": "Import a file", "zh_CN": "导入文件"}, max_attempts=3, lease=timedelta(minutes=10))


def payload(upload_id: int, entity: str, mode: str, mapping: dict[str, str | None] | None, options: dict[str, Any], tz: str) -> dict[str, Any]:
    """What a task needs: the upload (by id), the entity, ``check`` or ``import``, the columns and options, the reader's time zone."""
    return {"upload": upload_id, "entity": entity, "mode": mode, "mapping": mapping, "options": options, "tz": tz}


def sheet_of(site: Site, upload_id: int) -> importing.SheetStream:
    """The stored upload as a stream of rows, within the import page's limits."""
    with site.engine.connect() as conn:
        size = conn.scalar(sa.select(UPLOADS.c.size).where(UPLOADS.c.id == upload_id))
    if size is None:
        raise importing.ImportRefused("the uploaded file is no longer kept (uploads are kept for an hour); upload it again")
    return importing.SheetStream(lambda: open_upload(site, upload_id, size), importing.Limits.for_settings(site.settings))


class _Progress:
    """Passes an import's progress to the task at most every :data:`PROGRESS_SECONDS`, and at the end."""

    def __init__(self, context: TaskContext):
        self.context, self.last = context, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.context.progress(done, total)


def run(context: TaskContext) -> dict[str, Any]:
    site, task = context.site, context.payload
    actor = replace(context.actor, channel="import")
    options = task.get("options") or {}
    with site.engine.connect() as conn:
        upload = conn.execute(sa.select(UPLOADS.c.id, UPLOADS.c.filename, UPLOADS.c.sha256).where(UPLOADS.c.id == task["upload"])).first()
    if upload is None:
        raise importing.ImportRefused("the uploaded file is no longer kept (uploads are kept for an hour); upload it again")
    sheet = sheet_of(site, upload.id)
    context.progress(0, None, "reading")
    total = sheet.count  # one pass: every limit checked before a row is written
    context.progress(0, total, "checking" if task["mode"] == "check" else "importing")
    progress = _Progress(context)
    tzinfo = zone(task.get("tz") or "UTC")
    if task["mode"] == "check":
        report = importing.import_rows(
            site, actor, task["entity"], sheet, mapping=task.get("mapping"), dry_run=True, tzinfo=tzinfo, progress=progress,
            on_duplicate=options.get("on_duplicate", "skip"), skip_invalid=bool(options.get("skip_invalid")),
        )
    else:
        began = importjobs.of_task(site, context.task_id, upload.sha256 or "")
        if began is not None and not began.finished:
            report = importjobs.resume(site, actor, began, upload.sha256 or "", sheet, tzinfo=tzinfo, progress=progress)
        elif began is not None:
            raise importing.ImportRefused(f"import job {began.id} of this task is already {began.status}")
        else:
            report = importjobs.import_in_batches(
                site, actor, task["entity"], sheet, filename=upload.filename, file_hash=upload.sha256 or "", mapping=task.get("mapping"),
                on_duplicate=options.get("on_duplicate", "skip"), skip_invalid=bool(options.get("skip_invalid")), tzinfo=tzinfo,
                progress=progress, task=context.task_id, batch_size=importjobs.DEFAULT_BATCH,
            )
        if report.written and not report.stopped:
            with site.write() as conn:
                conn.execute(sa.delete(UPLOADS).where(UPLOADS.c.id == upload.id))
    context.progress(total, total)
    return result(report, task["mode"])


def result(report: importing.ImportReport, mode: str) -> dict[str, Any]:
    """A report as a task's JSON result."""
    return {
        "mode": mode, "entity": report.entity, "rows": report.rows, "source": report.source, "on_duplicate": report.on_duplicate,
        "skip_invalid": report.skip_invalid, "dry_run": report.dry_run, "written": report.written, "stopped": report.stopped,
        "job": report.job, "imported": report.imported, "updated": len(report.updated),
        "invalid_rows": report.invalid_count, "duplicates": report.duplicate_count, "summary": report.summary(),
        "invalid": [asdict(i) for i in report.invalid[:RESULT_ISSUES]],
        "duplicate_rows": [asdict(i) for i in report.duplicates[:RESULT_ISSUES]],
    }


def report_of(data: dict[str, Any], columns: list[importing.Column]) -> importing.ImportReport:
    """A task's result as a report again (for the page; ids are not kept, only their count)."""

    def issue(fields: dict[str, Any]) -> importing.RowIssue:
        return importing.RowIssue(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})

    invalid = [issue(i) for i in data["invalid"]]
    duplicates = [issue(i) for i in data["duplicate_rows"]]
    report = importing.ImportReport(
        data["entity"], data["rows"], columns, data["source"], data["on_duplicate"], data["dry_run"], data["skip_invalid"],
        ids=[0] * data["imported"], invalid=invalid, duplicates=duplicates, written=data["written"], stopped=data["stopped"], job=data["job"],
    )
    report.dropped_invalid = max(0, data["invalid_rows"] - len(report.invalid_rows))
    report.dropped_duplicates = max(0, data["duplicates"] - len(duplicates))
    return report
