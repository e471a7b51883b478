"""``/admin/option-lists``: the option lists fields take their choices from (:mod:`kernel.optionlists`).

The index shows every list (options, options to review, the fields using it) and creates one; a
list's page edits all its options in one form (both labels, colour, parent in a tree, archived,
position), adds an option, and merges one option into another (records rewritten). Each form
goes through the same functions as ``/api/v1/meta/option-lists``; an error re-renders the page
with the message and nothing stored.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import optionlists
from ...errors import RecordError
from ...fielddescriptions import form_fields
from .context import UI, ui_for
from .session import check_csrf


async def lists_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    return _index(ui)


def _index(ui: UI, status_code: int = 200, error: str | None = None, typed: dict[str, Any] | None = None) -> Response:
    rows = []
    for name in sorted(ui.view.option_lists):
        described = optionlists.describe(ui.site, name)
        options = described["options"]
        rows.append({
            "name": name,
            "label": ui.label(described["label"], name),
            "live": sum(1 for o in options if not o["archived"] and not o["merged_into"]),
            "review": sum(1 for o in options if o["review"]),
            "tree": described["tree"],
            "fields": _used_by(ui, name),
        })
    return ui.render("admin/option_lists.html", status_code=status_code, rows=rows, error=error, typed=typed or {})


def _used_by(ui: UI, name: str) -> list[str]:
    """The fields taking their choices from list ``name``, as people read them: ``Customer · Level``."""
    found = []
    for entity, field_name, custom in optionlists.fields_using(ui.view, name):
        shown = next((f for f in form_fields(ui.view, entity) if f.name == field_name and f.custom == custom), None)
        label = shown.label_text(ui.locale, ui.gettext) if shown is not None else field_name
        found.append(f"{ui.label(entity.label, entity.name)} · {label}")
    return found


async def create_list(request: Request) -> Response:
    """``POST /admin/option-lists``: a new list (name, both labels, tree)."""
    ui = ui_for(request)
    actor = ui.require_admin()
    form = await request.form()
    check_csrf(request, form)
    typed = {k: str(form.get(k) or "").strip() for k in ("name", "label_en", "label_zh_CN")}
    try:
        optionlists.create_list(ui.site, actor, typed["name"], {"en": typed["label_en"], "zh_CN": typed["label_zh_CN"]}, bool(form.get("tree")))
    except RecordError as exc:
        return _index(ui, exc.status, _message(exc), typed)
    return ui.redirect(f"/admin/option-lists/{typed['name']}?saved=1")


async def list_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    return _render(ui, request.path_params["name"])


def _render(ui: UI, name: str, status_code: int = 200, error: str | None = None, typed: dict[str, Any] | None = None) -> Response:
    described = optionlists.describe(ui.site, name)  # an unknown list: NotFound, the UI's 404 page
    listed = ui.view.option_lists[name]
    options = [{**o, "depth": listed.depth(o["code"]), "shown": listed.path(o["code"], ui.locale), "live": not o["archived"] and not o["merged_into"]}
               for o in described["options"]]
    return ui.render(
        "admin/option_list.html",
        status_code=status_code,
        listed=described,
        title=ui.label(described["label"], name),
        options=options,
        live=[o for o in options if o["live"]],
        error=error,
        typed=typed or {},
        saved=ui.request.query_params.get("saved"),
        merged=ui.request.query_params.get("merged"),
    )


def _message(exc: RecordError) -> str:
    if exc.details:
        detail = exc.details[0]
        where = [str(p) for p in detail.get("loc", []) if p not in ("body", "options")]
        return f"{' '.join(where)}: {detail['msg']}" if where else str(detail["msg"])
    return exc.message


async def save_options(request: Request) -> Response:
    """``POST /admin/option-lists/NAME``: the list's labels and every option row, in one transaction per part."""
    ui = ui_for(request)
    actor = ui.require_admin()
    name = request.path_params["name"]
    form = await request.form()
    check_csrf(request, form)
    listed = optionlists.get_list(ui.site, name)
    bodies: dict[str, Any] = {}
    positions: list[tuple[float, int, str]] = []
    for index, option in enumerate(listed.ordered()):
        code = option.code
        if f"present.{code}" not in form:
            continue
        body: dict[str, Any] = {
            "label": {"en": str(form.get(f"en.{code}") or ""), "zh_CN": str(form.get(f"zh_CN.{code}") or "")},
            "colour": str(form.get(f"colour.{code}") or "").strip() or None,
            "archived": bool(form.get(f"archived.{code}")),
        }
        if listed.tree:
            body["parent"] = str(form.get(f"parent.{code}") or "").strip() or None
        if option.review and form.get(f"reviewed.{code}"):
            body["review"] = False
        bodies[code] = body
        raw = str(form.get(f"position.{code}") or "").strip()
        positions.append((float(raw) if raw.replace(".", "", 1).isdigit() else 10_000 + index, index, code))
    try:
        if str(form.get("list_en") or form.get("list_zh_CN") or "").strip():
            label = {"en": str(form.get("list_en") or ""), "zh_CN": str(form.get("list_zh_CN") or "")}
            if label != {k: listed.label.get(k, "") for k in label} or bool(form.get("tree")) != listed.tree:
                optionlists.change_list(ui.site, actor, name, label=label, tree=bool(form.get("tree")))
        order = [code for _, _, code in sorted(positions)]
        optionlists.change_options(ui.site, actor, name, bodies, order)
    except RecordError as exc:
        return _render(ui, name, exc.status, _message(exc))
    return ui.redirect(f"/admin/option-lists/{name}?saved=1")


async def add_option(request: Request) -> Response:
    """``POST /admin/option-lists/NAME/options``: one new option at the end."""
    ui = ui_for(request)
    actor = ui.require_admin()
    name = request.path_params["name"]
    form = await request.form()
    check_csrf(request, form)
    typed = {k: str(form.get(k) or "").strip() for k in ("code", "en", "zh_CN", "colour", "parent")}
    body = {"code": typed["code"], "label": {"en": typed["en"], "zh_CN": typed["zh_CN"]}, "colour": typed["colour"] or None}
    if typed["parent"]:
        body["parent"] = typed["parent"]
    try:
        optionlists.add_option(ui.site, actor, name, body)
    except RecordError as exc:
        return _render(ui, name, exc.status, _message(exc), typed)
    return ui.redirect(f"/admin/option-lists/{name}?saved=1")


async def merge_options(request: Request) -> Response:
    """``POST /admin/option-lists/NAME/merge``: ``from`` into ``into``; records holding ``from`` are rewritten."""
    ui = ui_for(request)
    actor = ui.require_admin()
    name = request.path_params["name"]
    form = await request.form()
    check_csrf(request, form)
    try:
        answer = optionlists.merge(ui.site, actor, name, str(form.get("from") or ""), str(form.get("into") or ""))
    except RecordError as exc:
        return _render(ui, name, exc.status, _message(exc))
    return ui.redirect(f"/admin/option-lists/{name}?merged={sum(answer['records'].values())}")
