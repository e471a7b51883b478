"""The Files tab of a record's page: its attachments (:mod:`kernel.files`), upload and removal."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from ... import files
from ...errors import RecordError
from ...parsing import parse_id
from .context import UI, ui_for
from .entitypage import common, entity_of, id_of
from .session import check_csrf


def size_text(size: int) -> str:
    """``532 B``, ``12.4 KB``, ``3.1 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def files_context(ui: UI, entity: Any, record: dict[str, Any], *, error: str | None = None) -> dict[str, Any]:
    may_attach = True
    try:
        ui.site.records.authorize(ui.actor, entity.name, "update", record)
        may_attach = ui.site.records.writable(ui.actor, entity.name, record["id"])
    except RecordError:
        may_attach = False
    return {
        "files": files.files_of(ui.site, ui.actor, entity.name, record["id"]),
        "may_attach": may_attach,
        "max_size": size_text(files.max_bytes(ui.site)),
        "size_text": size_text,
        "file_error": error,
    }


async def files_panel(request: Request) -> Response:
    """``GET /r/E/ID/files``: the tab's panel (for htmx); ``POST``: attach the uploaded file, then show the tab."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise RecordError(ui.gettext("Choose a file to attach."))
            files.attach(ui.site, ui.actor, entity.name, record["id"], upload.filename, await upload.read())
        except RecordError as exc:
            exc = ui.explain(exc)
            message = exc.details[0]["msg"] if exc.details else exc.message
            return ui.render("_files.html", **common(ui, entity), record=record, status_code=exc.status,
                             **files_context(ui, entity, record, error=message))
        return ui.redirect(f"/r/{entity.name}/{record['id']}?tab=files")
    return ui.render("_files.html", **common(ui, entity), record=record, **files_context(ui, entity, record))


async def remove_file(request: Request) -> Response:
    """``POST /r/E/ID/files/FID/delete``: remove one file (the button asks first)."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    form = await request.form()
    check_csrf(request, form)
    record_id = id_of(request)
    files.remove(ui.site, ui.actor, entity.name, record_id, parse_id(request.path_params["file_id"], ["path", "file_id"]))
    return ui.redirect(f"/r/{entity.name}/{record_id}?tab=files")
