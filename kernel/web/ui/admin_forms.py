"""``/admin/forms``: the public forms admins build (:mod:`kernel.forms`), REST twin ``/api/v1/meta/forms``.

The list shows each form with its public link (the preview) and the ``<iframe>`` snippet to
embed it on another site; ``/admin/forms/new?entity=E`` and ``/admin/forms/ID`` edit one:
slug, title, which fields (a check box per field the entity offers, with its labels in
both languages and a required flag), consent text, thank-you message or redirect URL,
submissions per IP per hour, active. A refusal shows next to its field; nothing is stored.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import forms
from ...errors import RecordError
from ...parsing import optional_id
from ..meta_forms import with_links
from .context import UI, ui_for
from .forms import errors_by_field
from .session import check_csrf


async def forms_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    entities = sorted(ui.view.entities.values(), key=lambda e: ui.label(e.label_plural, e.name))
    return ui.render(
        "admin/forms.html",
        forms=[with_links(request, f) for f in forms.list_forms(ui.site)],
        entities=[(e.name, ui.label(e.label_plural, e.name)) for e in entities if forms.pickable(ui.view, e.name)],
        saved=request.query_params.get("saved"),
    )


async def form_edit_page(request: Request) -> Response:
    """``/admin/forms/new?entity=E`` and ``/admin/forms/ID``: show the form's settings, store them on POST."""
    ui = ui_for(request)
    actor = ui.require_admin()
    raw_id = request.path_params.get("id")
    current = forms.get(ui.site, optional_id(raw_id) or 0) if raw_id is not None else None
    entity = current["entity"] if current else str(request.query_params.get("entity") or "")
    if not forms.pickable(ui.view, entity):
        return ui.redirect("/admin/forms")
    if request.method == "GET":
        return _render(ui, entity, current, current or {"slug": "", "title": None, "fields": [], "consent": None,
                                                         "thank_you": forms.DEFAULT_THANKS, "redirect_url": None,
                                                         "per_hour": forms.DEFAULT_PER_HOUR, "active": True})
    posted = await request.form()
    check_csrf(request, posted)
    body = _body(ui, entity, posted)
    try:
        saved = forms.update(ui.site, actor, current["id"], body) if current else forms.create(ui.site, actor, body)
    except RecordError as exc:
        exc = ui.explain(exc)
        errors, other = errors_by_field(exc.details)
        return _render(ui, entity, current, {**body, "fields": body["fields"]}, 422, errors=errors,
                       other=other or ([] if errors else [exc.message]))
    return ui.redirect(f"/admin/forms?saved={saved['slug']}")


def _texts(posted: Any, name: str) -> dict[str, str] | None:
    found = {lang: str(posted.get(f"{name}.{lang}") or "").strip() for lang in ("en", "zh_CN")}
    return {k: v for k, v in found.items() if v} or None


def _body(ui: UI, entity: str, posted: Any) -> dict[str, Any]:
    chosen = []
    for f in forms.pickable(ui.view, entity):
        if f"use.{f.key}" in posted:
            chosen.append({"name": f.name, "label": _texts(posted, f"label.{f.key}"), "required": f"required.{f.key}" in posted})
    per_hour: Any = str(posted.get("per_hour") or "").strip()
    per_hour = int(per_hour) if per_hour.isdigit() and len(per_hour) < 7 else per_hour
    return {
        "slug": str(posted.get("slug") or "").strip(), "entity": entity, "title": _texts(posted, "title"),
        "fields": chosen, "consent": _texts(posted, "consent"), "thank_you": _texts(posted, "thank_you"),
        "redirect_url": str(posted.get("redirect_url") or "").strip() or None, "per_hour": per_hour,
        "active": "active" in posted,
    }


def _render(ui: UI, entity: str, current: dict[str, Any] | None, shown: dict[str, Any], status: int = 200,
            errors: dict[str, str] | None = None, other: list[str] | None = None) -> Response:
    chosen = {item["name"]: item for item in shown["fields"]}
    rows = []
    for f in forms.pickable(ui.view, entity):
        item = chosen.get(f.name)
        default = forms.default_labels(ui.view, f)
        rows.append({"field": f, "used": item is not None, "required": bool(item and item.get("required")) or f.required,
                     "always": f.required, "label": (item or {}).get("label") or default})
    return ui.render(
        "admin/form_edit.html", status_code=status, entity=entity, entity_label=ui.label(ui.view.entity(entity).label_plural, entity),
        current=with_links(ui.request, current) if current else None, shown=shown, rows=rows,
        errors=errors or {}, other_errors=other or [],
    )
