"""``/admin/sequences``: each numbering sequence as a small form (prefix, padding, reset,
time zone, next number), saved through :func:`kernel.sequences.change` like its REST twin
``PATCH /api/v1/meta/sequences/NAME``; an error appears next to its field and nothing is stored."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import sequences
from ...errors import RecordError, ValidationError
from ...parsing import parse_int
from .context import UI, ui_for
from .forms import errors_by_field
from .session import check_csrf

TEXTS = ("prefix", "reset", "time_zone")
NUMBERS = ("padding", "next")


async def sequences_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    return _render(ui)


def _render(ui: UI, status_code: int = 200, **failure: Any) -> Response:
    return ui.render(
        "admin/sequences.html",
        status_code=status_code,
        sequences=sequences.describe(ui.site),
        resets=[("yearly", ui.gettext("Every year")), ("monthly", ui.gettext("Every month")), ("never", ui.gettext("Never"))],
        failed=failure.get("failed"),
        typed=failure.get("typed", {}),
        errors=failure.get("errors", {}),
        other_errors=failure.get("other", []),
        saved=ui.request.query_params.get("saved"),
    )


async def save_sequence(request: Request) -> Response:
    """``POST /admin/sequences/NAME``: store what changed in that sequence's form."""
    ui = ui_for(request)
    actor = ui.require_admin()
    name = request.path_params["name"]
    form = await request.form()
    check_csrf(request, form)
    current = next((s for s in sequences.describe(ui.site) if s["name"] == name), None)
    if current is None:
        return _render(ui, 404, failed=name, other=[ui.gettext("No such sequence.")])
    typed = {key: str(form.get(key) or "").strip() for key in (*TEXTS, *NUMBERS) if key in form}
    changes: dict[str, Any] = {}
    for key, text in typed.items():
        value: Any = text
        if key in NUMBERS:
            try:
                value = parse_int(text, [key])
            except ValidationError:
                value = text  # kept as typed: the check names the field
        if value != current[key]:
            changes[key] = value
    if not changes:
        return ui.redirect(f"/admin/sequences?saved={name}#seq-{name}")
    try:
        sequences.change(ui.site, actor, name, changes)
    except RecordError as exc:
        exc = ui.explain(exc)
        errors, other = errors_by_field(exc.details)
        return _render(ui, 422, failed=name, typed=typed, errors=errors, other=other or ([] if errors else [exc.message]))
    return ui.redirect(f"/admin/sequences?saved={name}#seq-{name}")
