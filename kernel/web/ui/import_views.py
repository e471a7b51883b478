"""The import page, ``/r/E/import``: upload a file, check its columns and rows, import.

1. ``GET/POST /r/E/import``: the upload form; a posted file is kept in the database a megabyte at
   a time (:class:`Uploads`, :mod:`kernel.uploadparts`) and the browser goes on to its own URL.
2. ``GET /r/E/import/TOKEN``: each column with the field it fills (automatic matches
   preselected), the first rows, and the report of a dry run of every row: errors per row and
   likely duplicates. The dry run is a background task (``kernel.import``, :mod:`kernel.importtasks`)
   a worker runs while the page shows its progress; ``POST`` with ``action=check`` checks again
   with the chosen columns and options.
3. ``POST`` with ``action=import``: the import itself, a background task too (in batches, each
   committed with its checkpoint), as the signed-in user on the ``import`` channel; the browser
   goes to ``/r/E/import/tasks/ID``: its progress, then the result with its counts.

The pages show a task's progress as it is stored (``/r/E/import/tasks/ID/progress``, polled by
htmx), so a reload shows it again; ``/r/E/import/tasks/ID/report.xlsx`` downloads the problem
rows (row, column, reason). The web process never reads more of the file than the columns and
the first rows.

A kept file is only ever found by its random token, for the user who uploaded it,
for an hour; uploading again replaces the user's earlier file, and the store as
a whole is capped.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from ... import importing, importtasks, permissions, tasks
from ...errors import Forbidden, NotFound
from ...models import Upload
from ...parsing import INT64_MAX, optional_id, optional_int
from ...uploadparts import store
from .context import UI, ui_for
from .forms import FormField
from .records_views import common, entity_of
from .session import check_csrf

UPLOADS = Upload.__table__
KEEP_SECONDS = 3600
MAX_KEPT_FILES = 50
MAX_KEPT_BYTES = 4 * 2**30
PREVIEW_ROWS = 5
SAMPLE_ROWS = 20
REPORT_LINES = 50
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Kept:
    id: int
    filename: str
    size: int
    checked: dict[str, Any] | None = None  # the last check: {"key", "task", "mapping", "options"}


class Uploads:
    """Uploaded files between the steps of an import, in the database (tables ``kernel_uploads`` and
    ``kernel_upload_parts``), so every ``crm serve`` worker and ``crm worker``, on whichever machine,
    finds them. Only the token's SHA-256 is stored; a row answers only to its user and entity, and
    for an hour."""

    def __init__(self, site: Any):
        self.site = site

    def sweep(self, conn: sa.Connection) -> None:
        """Forget files past their hour."""
        cutoff = self.site.clock.now() - timedelta(seconds=KEEP_SECONDS)
        conn.execute(sa.delete(UPLOADS).where(UPLOADS.c.created_at < cutoff))

    def keep(self, user_id: int, entity: str, filename: str, source: BinaryIO | bytes) -> str | None:
        """Keep the file (read from ``source`` a part at a time) for ``user_id``, replacing their earlier
        one; ``None`` when the store is full. Blocking: call it off the event loop."""
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        size = source.seek(0, io.SEEK_END)
        source.seek(0)
        token = secrets.token_urlsafe(24)
        with self.site.write() as conn:
            self.sweep(conn)
            conn.execute(sa.delete(UPLOADS).where(UPLOADS.c.user_id == user_id))
            count, used = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(UPLOADS.c.size), 0))).one()
            if count >= MAX_KEPT_FILES or used + size > MAX_KEPT_BYTES:
                return None
            upload_id = conn.execute(sa.insert(UPLOADS).values(
                token_hash=_hash(token), user_id=user_id, entity=entity, filename=filename[:200],
                size=size, data=b"", created_at=self.site.clock.now(),
            ).returning(UPLOADS.c.id)).scalar_one()
            stored, digest = store(conn, upload_id, source)
            conn.execute(sa.update(UPLOADS).where(UPLOADS.c.id == upload_id).values(size=stored, sha256=digest))
        return token

    def load(self, token: str, user_id: int, entity: str) -> Kept | None:
        """The file kept under ``token``, if it is this user's, for this entity, and not expired."""
        if not _TOKEN.match(token):
            return None
        cutoff = self.site.clock.now() - timedelta(seconds=KEEP_SECONDS)
        with self.site.engine.connect() as conn:
            row = conn.execute(
                sa.select(UPLOADS.c.id, UPLOADS.c.filename, UPLOADS.c.size, UPLOADS.c.checked).where(
                    UPLOADS.c.token_hash == _hash(token), UPLOADS.c.user_id == user_id,
                    UPLOADS.c.entity == entity, UPLOADS.c.created_at >= cutoff,
                )
            ).first()
        return Kept(row.id, row.filename, row.size, row.checked) if row is not None else None

    def remember(self, token: str, checked: dict[str, Any]) -> None:
        """Keep the check's task (and what it was run with) with the file, so showing the page again does not re-run it."""
        with self.site.write() as conn:
            conn.execute(sa.update(UPLOADS).where(UPLOADS.c.token_hash == _hash(token)).values(checked=checked))

    def drop(self, token: str) -> None:
        if _TOKEN.match(token):
            with self.site.write() as conn:
                conn.execute(sa.delete(UPLOADS).where(UPLOADS.c.token_hash == _hash(token)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _entity_for_import(ui: UI, request: Request) -> Any:
    entity = entity_of(ui, request)
    if not permissions.allowed(ui.site, ui.actor, entity.name, "create"):
        raise Forbidden(f"you may not create {entity.name}")
    return entity


def _opening(site: Any, upload_id: int) -> tuple[importing.SheetStream, importing.Sheet]:
    """The stored file as a stream, and its first rows as a sheet (what the page plans columns on)."""
    stream = importtasks.sheet_of(site, upload_id)
    return stream, importing.Sheet(stream.headers, stream.preview(SAMPLE_ROWS), stream.source)


async def upload_page(request: Request) -> Response:
    """Step 1: choose a file."""
    ui = ui_for(request)
    entity = _entity_for_import(ui, request)
    if request.method == "GET":
        return _upload(ui, entity)
    limits = importing.Limits.for_settings(ui.site.settings)
    too_large = ui.gettext("The file is larger than %(size)s MB.", size=f"{limits.bytes / 2**20:g}")
    length = optional_int(request.headers.get("content-length"), low=0, high=INT64_MAX)
    if length is not None and length > limits.bytes + 2**16:
        return _upload(ui, entity, too_large, 413)
    form = await request.form(max_files=1, max_fields=10, max_part_size=limits.bytes + 1)
    check_csrf(request, form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload(ui, entity, ui.gettext("Choose a CSV or Excel (.xlsx) file."), 422)
    if (upload.size or 0) > limits.bytes:
        return _upload(ui, entity, too_large, 413)
    uploads = Uploads(ui.site)
    token = await run_in_threadpool(uploads.keep, ui.user.id, entity.name, Path(upload.filename).name, upload.file)
    if token is None:
        return _upload(ui, entity, ui.gettext("Too many imports are waiting to be finished; try again in a few minutes."), 503)
    kept = uploads.load(token, ui.user.id, entity.name)
    try:
        assert kept is not None
        await run_in_threadpool(_opening, ui.site, kept.id)  # the columns and the first rows are readable
    except importing.ImportRefused as exc:
        uploads.drop(token)
        return _upload(ui, entity, ui.gettext("This file cannot be imported: %(reason)s", reason=str(exc)), 422)
    return ui.redirect(f"/r/{entity.name}/import/{token}")


def _upload(ui: UI, entity: Any, error: str | None = None, status_code: int = 200) -> Response:
    limits = importing.Limits.for_settings(ui.site.settings)
    return ui.render(
        "import.html", status_code=status_code, **common(ui, entity), step="upload", error=error,
        max_mb=f"{limits.bytes / 2**20:g}", max_rows=limits.rows,
    )


async def review_page(request: Request) -> Response:
    """Step 2: check the columns and rows (a dry run, as a task), then start the import (a task)."""
    ui = ui_for(request)
    entity = _entity_for_import(ui, request)
    uploads = Uploads(ui.site)
    token = request.path_params["token"]
    kept = uploads.load(token, ui.user.id, entity.name)
    if kept is None:
        return ui.render("import.html", status_code=404, **common(ui, entity), step="expired")
    try:
        _, sheet = await run_in_threadpool(_opening, ui.site, kept.id)
    except importing.ImportRefused as exc:  # the limits were lowered since the upload
        return _upload(ui, entity, ui.gettext("This file cannot be imported: %(reason)s", reason=str(exc)), 422)
    state = dict(kept.checked or {})
    options = state.get("options") or {"on_duplicate": "skip", "skip_invalid": False}
    mapping: dict[str, str | None] | None = state.get("mapping")
    action = None
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=1000)
        check_csrf(request, form)
        mapping = _mapping_from(form, sheet)
        chosen = form.get("on_duplicate")
        options = {"on_duplicate": chosen if chosen in importing.ON_DUPLICATE else "skip", "skip_invalid": form.get("skip_invalid") == "1"}
        action = form.get("action")
    try:
        columns = importing.plan_columns(sheet, ui.view, entity, mapping)
    except importing.ImportRefused as exc:
        return _review(ui, entity, token, kept, sheet, [], None, options, problem=str(exc))
    unchosen = [c for c in columns if c.how in ("unknown", "ambiguous")]
    if unchosen:
        return _review(ui, entity, token, kept, sheet, columns, None, options, unchosen=unchosen, status_code=422 if request.method == "POST" else 200)
    key = _check_key(ui, columns, options)
    if action == "import":
        checked = _task(ui, state.get("task")) if state.get("key") == key else None
        result = (checked or {}).get("result") or {}
        if checked is None:  # not checked with these columns and options: check first
            action = "check"
        elif not result or (result.get("invalid_rows") and not options["skip_invalid"]) or not result.get("imported"):
            report = importtasks.report_of(result, columns) if result else None
            return _review(ui, entity, token, kept, sheet, columns, report, options, task=checked, status_code=422)
    if action == "import":
        task_id = tasks.enqueue(
            ui.site, importtasks.KIND, importtasks.payload(kept.id, entity.name, "import", mapping, options, str(ui.tzinfo)), actor=ui.actor,
        )
        return ui.redirect(f"/r/{entity.name}/import/tasks/{task_id}")
    if action == "check" or state.get("key") != key or _task(ui, state.get("task")) is None:
        task_id = tasks.enqueue(
            ui.site, importtasks.KIND, importtasks.payload(kept.id, entity.name, "check", mapping, options, str(ui.tzinfo)), actor=ui.actor,
        )
        state = {"key": key, "task": task_id, "mapping": mapping, "options": options}
        uploads.remember(token, state)
    if request.method == "POST":  # the check's progress reloads the page when done: a reload must not send the form again
        return ui.redirect(f"/r/{entity.name}/import/{token}")
    task = _task(ui, state["task"])
    report = importtasks.report_of(task["result"], columns) if task and task["status"] == tasks.DONE else None
    problem = task["error"] if task and task["status"] == tasks.FAILED else None
    return _review(ui, entity, token, kept, sheet, columns, report, options, task=task, problem=problem)


def _task(ui: UI, task_id: Any) -> dict[str, Any] | None:
    """One of the user's import tasks as the API shows it, or ``None``."""
    if not isinstance(task_id, int):
        return None
    try:
        found = tasks.get(ui.site, ui.actor, task_id)
    except NotFound:
        return None
    return found if found["kind"] == importtasks.KIND else None


def _check_key(ui: UI, columns: list[importing.Column], options: dict[str, Any]) -> str:
    """What a dry run's answer depends on besides the file: the field each column fills, the options,
    the fields and plugins (the registry version) and the viewer's time zone."""
    planned = [(c.index, c.key) for c in columns]
    wanted = {"columns": planned, "options": options, "version": ui.view.version, "tz": str(ui.tzinfo)}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()


def _mapping_from(form: Any, sheet: importing.Sheet) -> dict[str, str | None]:
    """``col.N`` → field key, ``-`` (leave out) or empty (not chosen), for each named column."""
    mapping: dict[str, str | None] = {}
    for index, header in enumerate(sheet.headers):
        value = form.get(f"col.{index}")
        if not header or not isinstance(value, str):
            continue
        if value == importing.IGNORE:
            mapping[header] = None
        elif value:
            mapping[header] = value
    return mapping


def _review(
    ui: UI, entity: Any, token: str, kept: Kept, sheet: importing.Sheet, columns: list[importing.Column],
    report: importing.ImportReport | None, options: dict[str, Any], *, unchosen: list[importing.Column] | None = None,
    problem: str | None = None, status_code: int = 200, task: dict[str, Any] | None = None,
) -> Response:
    choices = importing.Targets(ui.view, entity).choices(ui.locale, ui.gettext)
    shown = [c for c in columns if c.header]
    return ui.render(
        "import.html",
        status_code=status_code,
        **common(ui, entity),
        step="review",
        token=token,
        filename=kept.filename,
        sheet=sheet,
        size_mb=f"{kept.size / 2**20:.1f}",
        row_count=report.rows if report is not None else None,
        columns=shown,
        field_choices=choices,
        field_names=dict(choices),
        preview=sheet.rows[:PREVIEW_ROWS],
        samples={c.index: _samples(sheet, c.index) for c in shown},
        report=report,
        issues=report.issues() if report is not None else [],
        shown_issues=REPORT_LINES,
        options=options,
        unchosen={c.index for c in unchosen or []},
        problem=problem,
        task=task if task is not None and task["status"] != tasks.DONE and not problem else None,
        report_task=task["id"] if task is not None and report is not None else None,
        detects_duplicates=bool(ui.view.pm.hook.find_duplicates.get_hookimpls()),
        cell=_cell_text,
    )


def _samples(sheet: importing.Sheet, index: int) -> str:
    values = [_cell_text(cells[index]) for _, cells in sheet.rows[:SAMPLE_ROWS] if index < len(cells) and cells[index] is not None]
    return ", ".join(values[:3])


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    text = importing.convert(FormField("preview", "", "text"), value)
    return text if len(text) <= 80 else text[:79] + "…"


# -- a task's progress and result ----------------------------------------------------------------


def _import_task(ui: UI, request: Request, entity: Any) -> dict[str, Any]:
    """The import task the path names: the user's own (an admin: anyone's), of this entity."""
    task_id = optional_id(request.path_params["task"])
    task = _task(ui, task_id) if task_id is not None else None
    if task is None or _task_entity(ui, task["id"]) != entity.name:
        raise NotFound(f"no import task {request.path_params['task']}")
    return task


def _task_entity(ui: UI, task_id: int) -> str | None:
    with ui.site.engine.connect() as conn:
        payload = conn.scalar(sa.select(tasks.TASKS.c.payload).where(tasks.TASKS.c.id == task_id))
    return (payload or {}).get("entity")


async def task_page(request: Request) -> Response:
    """Step 3: the import's progress (it survives a reload: the task is in the database), then its result."""
    ui = ui_for(request)
    entity = _entity_for_import(ui, request)
    task = _import_task(ui, request, entity)
    result = task["result"] if task["status"] == tasks.DONE else None
    report = importtasks.report_of(result, []) if result else None
    return ui.render(
        "import.html", **common(ui, entity), step="done" if report is not None else "running", task=task, report=report,
        issues=report.issues() if report is not None else [], shown_issues=REPORT_LINES, report_task=task["id"],
        problem=task["error"] if task["status"] in (tasks.FAILED, tasks.CANCELLED) else None,
    )


async def task_progress(request: Request) -> Response:
    """The progress bar alone (what the page polls); once the task has finished, the page reloads."""
    ui = ui_for(request)
    entity = _entity_for_import(ui, request)
    task = _import_task(ui, request, entity)
    response = ui.render("_import_progress.html", task=task, entity=entity)
    if task["status"] in tasks.FINISHED:
        response.headers["HX-Refresh"] = "true"
    return response


async def task_report(request: Request) -> Response:
    """The problem rows of a check or an import as an XLSX workbook: row, column, reason."""
    ui = ui_for(request)
    entity = _entity_for_import(ui, request)
    task = _import_task(ui, request, entity)
    if task["status"] != tasks.DONE or not task["result"]:
        raise NotFound(f"import task {task['id']} has no report yet")
    report = importtasks.report_of(task["result"], [])
    data = await run_in_threadpool(_workbook, ui, report)
    name = f"{entity.name}-import-{task['id']}-report.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"})


def _workbook(ui: UI, report: importing.ImportReport) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(ui.gettext("Rows to look at"))
    sheet.append([ui.gettext("Row"), ui.gettext("Column"), ui.gettext("Reason")])
    for issue in report.issues():
        sheet.append([issue.row, issue.column or "", _guarded(issue.reason)])
    more = report.dropped_invalid + report.dropped_duplicates
    if more:
        sheet.append(["", "", ui.gettext("… and %(count)s more", count=more)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _guarded(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
