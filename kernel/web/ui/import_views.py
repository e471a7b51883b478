"""The import page, ``/r/E/import``: upload a file, check its columns and rows, import.

1. ``GET/POST /r/E/import``: the upload form; a posted file is kept in the database
   (:class:`Uploads`) and the browser goes on to its own URL.
2. ``GET /r/E/import/TOKEN``: each column with the field it fills (automatic matches
   preselected), the first rows, and the report of a dry run: errors per row and
   likely duplicates. ``POST`` with ``action=check`` checks again with the chosen
   columns and options.
3. ``POST`` with ``action=import``: the import itself (:func:`kernel.importing.import_rows`,
   as the signed-in user on the ``import`` channel), then the result with its counts.

A kept file is only ever found by its random token, for the user who uploaded it,
for an hour; uploading again replaces the user's earlier file, and the store as
a whole is capped.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from ... import importing, permissions
from ...errors import Forbidden
from ...models import Upload
from ...parsing import INT64_MAX, optional_int
from .context import UI, ui_for
from .forms import FormField
from .records_views import common, entity_of
from .session import check_csrf

UPLOADS = Upload.__table__
KEEP_SECONDS = 3600
MAX_KEPT_FILES = 50
MAX_KEPT_BYTES = 200 * 2**20
PREVIEW_ROWS = 5
REPORT_LINES = 50
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Kept:
    filename: str
    data: bytes
    checked: dict[str, Any] | None = None  # the last dry run: {"key": ..., "report": ...}


class Uploads:
    """Uploaded files between the steps of an import, in the database (table ``kernel_uploads``),
    so every ``crm serve`` worker, on whichever machine, finds them. Only the token's SHA-256
    is stored; a row answers only to its user and entity, and for an hour."""

    def __init__(self, site: Any):
        self.site = site

    def sweep(self, conn: sa.Connection) -> None:
        """Forget files past their hour."""
        cutoff = self.site.clock.now() - timedelta(seconds=KEEP_SECONDS)
        conn.execute(sa.delete(UPLOADS).where(UPLOADS.c.created_at < cutoff))

    def keep(self, user_id: int, entity: str, filename: str, data: bytes) -> str | None:
        """Keep ``data`` for ``user_id`` (replacing their earlier file); ``None`` when the store is full."""
        token = secrets.token_urlsafe(24)
        with self.site.write() as conn:
            self.sweep(conn)
            conn.execute(sa.delete(UPLOADS).where(UPLOADS.c.user_id == user_id))
            count, used = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(UPLOADS.c.size), 0))).one()
            if count >= MAX_KEPT_FILES or used + len(data) > MAX_KEPT_BYTES:
                return None
            conn.execute(sa.insert(UPLOADS).values(
                token_hash=_hash(token), user_id=user_id, entity=entity, filename=filename[:200],
                size=len(data), data=data, created_at=self.site.clock.now(),
            ))
        return token

    def load(self, token: str, user_id: int, entity: str) -> Kept | None:
        """The file kept under ``token``, if it is this user's, for this entity, and not expired."""
        if not _TOKEN.match(token):
            return None
        cutoff = self.site.clock.now() - timedelta(seconds=KEEP_SECONDS)
        with self.site.engine.connect() as conn:
            row = conn.execute(
                sa.select(UPLOADS.c.filename, UPLOADS.c.data, UPLOADS.c.checked).where(
                    UPLOADS.c.token_hash == _hash(token), UPLOADS.c.user_id == user_id,
                    UPLOADS.c.entity == entity, UPLOADS.c.created_at >= cutoff,
                )
            ).first()
        return Kept(row.filename, bytes(row.data), row.checked) if row is not None else None

    def remember(self, token: str, checked: dict[str, Any]) -> None:
        """Keep a dry run's report with the file, so showing the page again does not re-run it."""
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
    form = await request.form(max_files=1, max_fields=10)
    check_csrf(request, form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload(ui, entity, ui.gettext("Choose a CSV or Excel (.xlsx) file."), 422)
    data = await upload.read(limits.bytes + 1)
    if len(data) > limits.bytes:
        return _upload(ui, entity, too_large, 413)
    try:
        importing.read_sheet(data, limits)
    except importing.ImportRefused as exc:
        return _upload(ui, entity, ui.gettext("This file cannot be imported: %(reason)s", reason=str(exc)), 422)
    token = Uploads(ui.site).keep(ui.user.id, entity.name, Path(upload.filename).name, data)
    if token is None:
        return _upload(ui, entity, ui.gettext("Too many imports are waiting to be finished; try again in a few minutes."), 503)
    return ui.redirect(f"/r/{entity.name}/import/{token}")


def _upload(ui: UI, entity: Any, error: str | None = None, status_code: int = 200) -> Response:
    limits = importing.Limits.for_settings(ui.site.settings)
    return ui.render(
        "import.html", status_code=status_code, **common(ui, entity), step="upload", error=error,
        max_mb=f"{limits.bytes / 2**20:g}", max_rows=limits.rows,
    )


async def review_page(request: Request) -> Response:
    """Steps 2 and 3: check the columns and rows (a dry run), then import."""
    ui = ui_for(request)
    entity = _entity_for_import(ui, request)
    uploads = Uploads(ui.site)
    token = request.path_params["token"]
    kept = uploads.load(token, ui.user.id, entity.name)
    if kept is None:
        return ui.render("import.html", status_code=404, **common(ui, entity), step="expired")
    try:
        sheet = importing.read_sheet(kept.data, importing.Limits.for_settings(ui.site.settings))
    except importing.ImportRefused as exc:  # the limits were lowered since the upload
        return _upload(ui, entity, ui.gettext("This file cannot be imported: %(reason)s", reason=str(exc)), 422)
    options = {"on_duplicate": "skip", "skip_invalid": False}
    mapping: dict[str, str | None] | None = None
    importing_now = False
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=1000)
        check_csrf(request, form)
        mapping = _mapping_from(form, sheet)
        chosen = form.get("on_duplicate")
        options = {"on_duplicate": chosen if chosen in importing.ON_DUPLICATE else "skip", "skip_invalid": form.get("skip_invalid") == "1"}
        importing_now = form.get("action") == "import"
    try:
        columns = importing.plan_columns(sheet, ui.view, entity, mapping)
    except importing.ImportRefused as exc:
        return _review(ui, entity, token, kept, sheet, [], None, options, problem=str(exc))
    unchosen = [c for c in columns if c.how in ("unknown", "ambiguous")]
    if unchosen:
        return _review(ui, entity, token, kept, sheet, columns, None, options, unchosen=unchosen, status_code=422 if request.method == "POST" else 200)
    actor = replace(ui.actor, channel="import")
    key = _check_key(ui, mapping, options)
    if not importing_now and kept.checked is not None and kept.checked.get("key") == key:
        report = _stored_report(kept.checked["report"], columns)
        return _review(ui, entity, token, kept, sheet, columns, report, options)
    try:
        report = importing.import_rows(
            ui.site, actor, entity.name, sheet, mapping=mapping, dry_run=not importing_now, tzinfo=ui.tzinfo, **options,
        )
    except importing.ImportRefused as exc:
        return _review(ui, entity, token, kept, sheet, columns, None, options, problem=str(exc))
    if report.dry_run:
        uploads.remember(token, {"key": key, "report": _report_data(report)})
    if report.written:
        uploads.drop(token)
        return ui.render("import.html", **common(ui, entity), step="done", report=report, issues=report.issues(), shown_issues=REPORT_LINES, filename=kept.filename)
    return _review(ui, entity, token, kept, sheet, columns, report, options, status_code=422 if importing_now else 200)


def _check_key(ui: UI, mapping: dict[str, str | None] | None, options: dict[str, Any]) -> str:
    """What a dry run's answer depends on besides the file: the columns, the options, the fields
    and plugins (the registry version) and the viewer's time zone."""
    wanted = {"mapping": mapping, "options": options, "version": ui.view.version, "tz": str(ui.tzinfo)}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()


def _report_data(report: importing.ImportReport) -> dict[str, Any]:
    """A dry run's report as JSON (the columns are planned again from the file; ids are not kept)."""
    return {
        "entity": report.entity, "rows": report.rows, "source": report.source, "on_duplicate": report.on_duplicate,
        "skip_invalid": report.skip_invalid, "imported": report.imported,
        "invalid": [asdict(issue) for issue in report.invalid], "duplicates": [asdict(issue) for issue in report.duplicates],
    }


def _stored_report(data: dict[str, Any], columns: list[importing.Column]) -> importing.ImportReport:
    def issue(fields: dict[str, Any]) -> importing.RowIssue:
        return importing.RowIssue(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})

    return importing.ImportReport(
        data["entity"], data["rows"], columns, data["source"], data["on_duplicate"], True, data["skip_invalid"],
        ids=[0] * data["imported"], invalid=[issue(i) for i in data["invalid"]], duplicates=[issue(i) for i in data["duplicates"]],
    )


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
    problem: str | None = None, status_code: int = 200,
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
        detects_duplicates=bool(ui.view.pm.hook.find_duplicates.get_hookimpls()),
        cell=_cell_text,
    )


def _samples(sheet: importing.Sheet, index: int) -> str:
    values = [_cell_text(cells[index]) for _, cells in sheet.rows[:20] if index < len(cells) and cells[index] is not None]
    return ", ".join(values[:3])


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    text = importing.convert(FormField("preview", "", "text"), value)
    return text if len(text) <= 80 else text[:79] + "…"

