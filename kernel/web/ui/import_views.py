"""The import page, ``/r/E/import``: upload a file, check its columns and rows, import.

1. ``GET/POST /r/E/import``: the upload form; a posted file is kept on the server
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
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from ... import importing, permissions
from ...errors import Forbidden
from .context import UI, ui_for
from .forms import FormField
from .records_views import common, entity_of
from .session import check_csrf

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


class Uploads:
    """Uploaded files between the steps of an import, on the server, one directory per database."""

    def __init__(self, site: Any):
        digest = hashlib.sha256(site.engine.url.render_as_string(hide_password=False).encode()).hexdigest()[:16]
        self.root = Path(tempfile.gettempdir()) / f"plugcrm-imports-{digest}"
        self.clock = site.clock

    def _ready(self) -> bool:
        """The directory exists, is a real directory, and only this process's user can use it."""
        try:
            self.root.mkdir(mode=0o700, exist_ok=True)
            found = os.lstat(self.root)
        except OSError:
            return False
        return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and not found.st_mode & 0o077

    def _paths(self, token: str) -> tuple[Path, Path]:
        if not _TOKEN.match(token):
            raise ValueError("not an upload token")
        return self.root / f"{token}.data", self.root / f"{token}.json"

    def _entries(self) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for meta_path in self.root.glob("*.json"):
            try:
                found.append((meta_path.stem, json.loads(meta_path.read_text("utf-8"))))
            except (OSError, ValueError):
                continue
        return found

    def sweep(self) -> None:
        """Forget files past their hour."""
        now = self.clock.now().timestamp()
        for token, meta in self._entries():
            if now - float(meta.get("at", 0)) > KEEP_SECONDS:
                self.drop(token)

    def keep(self, user_id: int, entity: str, filename: str, data: bytes) -> str | None:
        """Keep ``data`` for ``user_id``; ``None`` when the store is full (or unusable)."""
        if not self._ready():
            return None
        self.sweep()
        for token, meta in self._entries():
            if meta.get("user") == user_id:
                self.drop(token)
        entries = self._entries()
        used = sum(int(meta.get("size", 0)) for _, meta in entries)
        if len(entries) >= MAX_KEPT_FILES or used + len(data) > MAX_KEPT_BYTES:
            return None
        token = secrets.token_urlsafe(24)
        data_path, meta_path = self._paths(token)
        data_path.write_bytes(data)
        meta = {"user": user_id, "entity": entity, "filename": filename[:200], "size": len(data), "at": self.clock.now().timestamp()}
        partial = meta_path.with_suffix(".part")
        partial.write_text(json.dumps(meta), "utf-8")
        os.replace(partial, meta_path)
        return token

    def load(self, token: str, user_id: int, entity: str) -> Kept | None:
        """The file kept under ``token``, if it is this user's, for this entity, and not expired."""
        try:
            data_path, meta_path = self._paths(token)
            meta = json.loads(meta_path.read_text("utf-8"))
        except (ValueError, OSError):
            return None
        if meta.get("user") != user_id or meta.get("entity") != entity:
            return None
        if self.clock.now().timestamp() - float(meta.get("at", 0)) > KEEP_SECONDS:
            self.drop(token)
            return None
        try:
            return Kept(str(meta.get("filename", "")), data_path.read_bytes())
        except OSError:
            return None

    def drop(self, token: str) -> None:
        for path in self._paths(token):
            path.unlink(missing_ok=True)


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
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > importing.MAX_BYTES + 2**16:
        return _upload(ui, entity, ui.gettext("The file is larger than %(size)s MB.", size=importing.MAX_BYTES // 2**20), 413)
    form = await request.form(max_files=1, max_fields=10)
    check_csrf(request, form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload(ui, entity, ui.gettext("Choose a CSV or Excel (.xlsx) file."), 422)
    data = await upload.read(importing.MAX_BYTES + 1)
    if len(data) > importing.MAX_BYTES:
        return _upload(ui, entity, ui.gettext("The file is larger than %(size)s MB.", size=importing.MAX_BYTES // 2**20), 413)
    try:
        importing.read_sheet(data)
    except importing.ImportRefused as exc:
        return _upload(ui, entity, ui.gettext("This file cannot be imported: %(reason)s", reason=str(exc)), 422)
    token = Uploads(ui.site).keep(ui.user.id, entity.name, Path(upload.filename).name, data)
    if token is None:
        return _upload(ui, entity, ui.gettext("Too many imports are waiting to be finished; try again in a few minutes."), 503)
    return ui.redirect(f"/r/{entity.name}/import/{token}")


def _upload(ui: UI, entity: Any, error: str | None = None, status_code: int = 200) -> Response:
    return ui.render(
        "import.html", status_code=status_code, **common(ui, entity), step="upload", error=error,
        max_mb=importing.MAX_BYTES // 2**20, max_rows=importing.MAX_ROWS,
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
    sheet = importing.read_sheet(kept.data)
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
    try:
        report = importing.import_rows(
            ui.site, actor, entity.name, sheet, mapping=mapping, dry_run=not importing_now, tzinfo=ui.tzinfo, **options,
        )
    except importing.ImportRefused as exc:
        return _review(ui, entity, token, kept, sheet, columns, None, options, problem=str(exc))
    if report.written:
        uploads.drop(token)
        return ui.render("import.html", **common(ui, entity), step="done", report=report, issues=report.issues(), shown_issues=REPORT_LINES, filename=kept.filename)
    return _review(ui, entity, token, kept, sheet, columns, report, options, status_code=422 if importing_now else 200)


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
    targets = importing.Targets(ui.view, entity)
    fields: list[FormField] = list(targets.fields.values())
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
        fields=fields,
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

