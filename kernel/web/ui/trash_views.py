"""The recycle bin page (``/trash``): what the user deleted (an admin: everything), restorable.

``GET /trash?entity=E&offset=N`` lists it, newest first; ``GET /trash/E/ID/restore`` asks for
confirmation and ``POST`` restores (``site.records.restore``), then opens the record.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ... import trash
from ...entities import record_title
from ...errors import NotFound
from ...parsing import optional_id
from ..trash_api import bin_page
from .context import ui_for
from .session import check_csrf

PER_PAGE = 50


async def trash_page(request: Request) -> Response:
    ui = ui_for(request)
    params = request.query_params
    chosen = params.get("entity") or None
    if chosen is not None and ui.view.entity(chosen) is None:
        chosen = None
    offset = optional_id(params.get("offset") or "") or 0
    page = bin_page(ui.site, ui.actor, chosen, limit=PER_PAGE, offset=offset)
    for item in page["items"]:
        entity = ui.view.entities[item["entity"]]
        item["label"] = ui.label(entity.label, entity.name)
        item["children_text"] = ", ".join(
            f"{count} {ui.label(ui.view.entities[name].label_plural, name) if name in ui.view.entities else name}"
            for name, count in item["children"].items()
        )
    choices = sorted(((name, ui.label(e.label_plural, name)) for name, e in ui.view.entities.items()), key=lambda c: c[1])
    return ui.render(
        "trash.html", page=page, chosen=chosen, choices=choices, trash_days=ui.site.settings.trash_days,
        newer=max(offset - PER_PAGE, 0) if offset else None, older=offset + PER_PAGE if offset + PER_PAGE < page["total"] else None,
    )


async def restore_page(request: Request) -> Response:
    ui = ui_for(request)
    name = request.path_params["entity"]
    record_id = optional_id(request.path_params["id"]) or 0
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        ui.site.records.restore(ui.actor, name, record_id)
        return ui.redirect(f"/r/{name}/{record_id}?restored=1")
    entity = ui.view.entity(name)
    if entity is None:
        raise NotFound(f"no entity named {name!r}")
    with ui.site.engine.connect() as conn:
        entry = trash.find(conn, ui.actor, entity, record_id, lock=False)
    title = record_title(entity, {**entry.data, "id": record_id})
    return ui.render("confirm_restore.html", entity=entity, entry=entry, title=title, entity_label=ui.label(entity.label, name))
