"""Global search across entities, and the notifications inbox."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import notifications, permissions
from ...parsing import optional_id
from ...errors import RecordError
from .context import ui_for
from .display import record_title
from .menu import ADMIN_ENTITIES
from .session import check_csrf
from .shell import safe_next

PER_ENTITY = 5


async def search_page(request: Request) -> Response:
    """``GET /search?q=…``: the first matches in every searchable entity the user may read."""
    ui = ui_for(request)
    q = request.query_params.get("q", "").strip().replace("\x00", "")[:200]
    groups: list[dict[str, Any]] = []
    if q:
        for name, entity in ui.view.entities.items():
            if not entity.searchable or name in ADMIN_ENTITIES or not permissions.allowed(ui.site, ui.actor, name, "read"):
                continue
            try:
                page = ui.site.records.list(ui.actor, name, q=q, limit=PER_ENTITY)
            except RecordError:
                continue
            if page.items:
                groups.append({
                    "entity": name,
                    "label": ui.label(entity.label_plural, name),
                    "total": page.total,
                    "exact": page.total_exact,
                    "items": [(item["id"], record_title(entity, item)) for item in page.items],
                })
    return ui.render("search.html", q=q, groups=groups)


async def inbox_page(request: Request) -> Response:
    """``GET /inbox`` lists the user's notifications; ``POST`` marks one (``id``) or all read."""
    ui = ui_for(request)
    user_id = ui.actor.user_id
    assert user_id is not None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        raw = form.get("id")
        ids = [found] if (found := optional_id(raw)) is not None else None
        notifications.mark_read(ui.site, user_id, ids)
        link = form.get("link")
        return ui.redirect(safe_next(link, "/inbox") if link else "/inbox")
    found = notifications.list_notifications(ui.site, user_id, limit=100)
    return ui.render("inbox.html", items=found["items"], unread=found["unread"], safe_link=lambda link: safe_next(link, ""))

