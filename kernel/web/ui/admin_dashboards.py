"""``/admin/dashboards``: which widgets each role's dashboard shows, and in what order (:mod:`kernel.layouts`).

One role at a time (``?role=NAME``): every widget of the enabled plugins with a "show" box and a
position; saving stores the checked ones in position order. "Back to the default" removes the
layout, so that the plugins decide again.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import layouts
from ...errors import RecordError
from .context import UI, ui_for
from .session import check_csrf


def _roles(ui: UI) -> list[dict[str, Any]]:
    return ui.site.records.list(ui.actor, "roles", sort="name", limit=500).items


async def dashboards_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    roles = _roles(ui)
    wanted = request.query_params.get("role") or (roles[0]["name"] if roles else "")
    return _render(ui, roles, wanted)


def _render(ui: UI, roles: list[dict[str, Any]], role: str, status_code: int = 200, error: str | None = None) -> Response:
    widgets = list(layouts.registered_widgets(ui.site).values())
    chosen = layouts.layout_of(ui.site, role)
    order = {name: i for i, name in enumerate(chosen or [])}
    rows = [
        {
            "widget": w,
            "label": ui.label(w.label, w.name),
            "shown": (w.name in order) if chosen is not None else (not w.roles or role in w.roles or role == "admin"),
            "position": order.get(w.name, len(order) + i) + 1,
        }
        for i, w in enumerate(widgets)
    ]
    rows.sort(key=lambda r: (not r["shown"], r["position"]))
    return ui.render(
        "admin/dashboards.html",
        status_code=status_code,
        roles=[(r["name"], ui.label(r.get("label") or {}, r["name"])) for r in roles],
        role=role,
        rows=rows,
        custom=chosen is not None,
        error=error,
        saved=ui.request.query_params.get("saved"),
    )


async def save_dashboard(request: Request) -> Response:
    """``POST /admin/dashboards/ROLE``: store the checked widgets in position order (or, with ``reset``, remove the layout)."""
    ui = ui_for(request)
    actor = ui.require_admin()
    role = request.path_params["role"]
    form = await request.form()
    check_csrf(request, form)
    try:
        if form.get("reset"):
            layouts.reset(ui.site, actor, role)
        else:
            picked = []
            for index, name in enumerate(form.getlist("show")):
                raw = str(form.get(f"position.{name}") or "").strip()
                position = int(raw) if raw.isdigit() else 10_000 + index
                picked.append((position, index, str(name)))
            layouts.save(ui.site, actor, role, [name for _, _, name in sorted(picked)])
    except RecordError as exc:
        exc = ui.explain(exc)
        message = exc.details[0]["msg"] if exc.details else exc.message
        return _render(ui, _roles(ui), role, status_code=exc.status, error=message)
    return ui.redirect(f"/admin/dashboards?role={role}&saved=1")
