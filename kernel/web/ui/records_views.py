"""Generic pages for every enabled entity: list, detail, create, edit, delete, actions.

Every write goes through ``site.records`` with an actor on the ``ui`` channel;
a refused write comes back as a :class:`~kernel.errors.RecordError` whose details
are shown next to their fields. A template can be overridden for one entity
(``notes/list.html``) or for all (``list.html``) by a plugin's template directory.
"""

from __future__ import annotations

import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import permissions
from ...errors import NotFound, RecordError, ValidationError
from .context import UI, ui_for
from .display import raw_value, record_title, reference_labels, show, title_column
from .forms import FormField, builtin_field, display_fields, errors_by_field, form_fields, form_values, read_form
from .listing import PAGE_SIZE, ListRequest, filterable, list_columns, sortable
from .session import check_csrf

_ID = re.compile(r"^[1-9][0-9]{0,17}$")


def entity_of(ui: UI, request: Request) -> Any:
    name = request.path_params["entity"]
    entity = ui.view.entity(name)
    if entity is None:
        raise NotFound(f"no entity named {name!r}")
    return entity


def id_of(request: Request) -> int:
    text = request.path_params["id"]
    if not _ID.match(text):
        raise NotFound(f"no record {text!r}")
    return int(text)


def templates_for(entity: Any, page: str) -> list[str]:
    return [f"{entity.name}/{page}", page]


def choices_for(ui: UI, fields: list[FormField]) -> dict[str, list[tuple[str, str]]]:
    """Options of selects whose choices are another entity's names (a user's role, say)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for form_field in fields:
        source = form_field.extra.get("choices_from")
        if not source or source not in ui.view.entities:
            continue
        try:
            page = ui.site.records.list(ui.actor, source, sort="name", limit=200)
        except RecordError:
            continue
        found[form_field.key] = [(row["name"], ui.label(row.get("label"), row["name"]) or row["name"]) for row in page.items]
    return found


def common(ui: UI, entity: Any) -> dict[str, Any]:
    return {
        "entity": entity,
        "entity_label": ui.label(entity.label, entity.name),
        "entity_plural": ui.label(entity.label_plural, entity.name),
        "can": lambda action: _allowed(ui, entity.name, action),
        "show": lambda f, value, refs=None: show(ui, f, value, refs),
        "raw_value": raw_value,
        "record_title": lambda record: record_title(entity, record),
        "field_label": lambda f: f.label_text(ui.locale, ui.gettext),
    }


def _allowed(ui: UI, entity: str, action: str) -> bool:
    return permissions.allowed(ui.site, ui.actor, entity, action)


# -- list ------------------------------------------------------------------------------


async def list_page(request: Request) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    fields = display_fields(ui.view, entity)
    wanted = ListRequest.parse(request.query_params)
    error = None
    try:
        page = ui.site.records.list(
            ui.actor, entity.name, filters=wanted.record_filters(fields, ui.tzinfo), sort=wanted.sort or None,
            q=wanted.q or None, limit=PAGE_SIZE, offset=wanted.offset,
        )
    except ValidationError as exc:
        error = exc.details[0]["msg"] if exc.details else exc.message
        page = ui.site.records.list(ui.actor, entity.name, limit=PAGE_SIZE)
    columns = list_columns(fields, title_column(entity))
    refs = reference_labels(ui, columns, page.items)
    return ui.render(
        templates_for(entity, "list.html"),
        **common(ui, entity),
        page=page,
        columns=columns,
        filters=filterable(fields),
        wanted=wanted,
        refs=refs,
        error=error,
        sortable=sortable,
        pages=max(1, math.ceil(page.total / PAGE_SIZE)),
        title_column=title_column(entity),
        kanban_field=kanban_field(fields),
    )


def kanban_field(fields: list[FormField]) -> FormField | None:
    """The field a board groups by: a built-in ``stage`` or ``status`` with fixed choices."""
    for name in ("stage", "status"):
        for form_field in fields:
            if form_field.name == name and not form_field.custom and form_field.widget == "select" and form_field.choices:
                return form_field
    return None


async def lookup(request: Request) -> Response:
    """Reference picker results: ``GET /r/E/lookup?q=…&for=INPUT_ID`` → a list of buttons."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    q = request.query_params.get("q", "").strip()[:100]
    target = request.query_params.get("for", "")
    column = title_column(entity)
    items: list[dict[str, Any]] = []
    if entity.searchable:
        try:
            items = ui.site.records.list(ui.actor, entity.name, q=q or None, sort=column, limit=10).items
        except RecordError:
            items = []
    return ui.render("_lookup.html", items=items, target=target, record_title=lambda r: record_title(entity, r))


# -- detail ------------------------------------------------------------------------------


async def detail_page(request: Request) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    fields = display_fields(ui.view, entity)
    tab = request.query_params.get("tab", "details")
    history = _history(ui, entity, record) if tab == "history" else []
    return ui.render(
        templates_for(entity, "detail.html"),
        **common(ui, entity),
        record=record,
        built_in=[f for f in fields if not f.custom],
        custom=[f for f in fields if f.custom],
        refs=reference_labels(ui, fields, [record]),
        tab="history" if tab == "history" else "details",
        history=history,
        actions=[a for a in entity.actions if _allowed(ui, entity.name, a.name)],
    )


def _history(ui: UI, entity: Any, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's audit entries, each change shown like the field itself (dates, money, names)."""
    fields = {f.key: f for f in form_fields(ui.view, entity)}
    entries = ui.site.records.history(ui.actor, entity.name, record["id"], limit=100)
    values = [side for entry in entries for change in _changes(entry) for side in _as_values(fields, change)]
    refs = reference_labels(ui, list(fields.values()), values)
    for entry in entries:
        entry["rows"] = [
            {"field": fields[key].label_text(ui.locale, ui.gettext) if key in fields else key,
             "old": _shown(ui, fields.get(key), old, refs), "new": _shown(ui, fields.get(key), new, refs)}
            for key, (old, new) in _changes(entry)
        ]
        entry["body"] = (entry.get("changes") or {}).get("body")
    return entries


def _changes(entry: dict[str, Any]) -> list[tuple[str, tuple[Any, Any]]]:
    changes = entry.get("changes") or {}
    return [(k, (v[0], v[1])) for k, v in sorted(changes.items()) if isinstance(v, list | tuple) and len(v) == 2]


def _as_values(fields: dict[str, FormField], change: tuple[str, tuple[Any, Any]]) -> list[dict[str, Any]]:
    """Both sides of one change shaped like records, to look up the names of referenced records."""
    key, sides = change
    form_field = fields.get(key)
    if form_field is None or form_field.widget != "reference":
        return []
    return [{"custom": {form_field.name: v}} if form_field.custom else {form_field.name: v} for v in sides if isinstance(v, int)]


def _shown(ui: UI, form_field: FormField | None, value: Any, refs: dict[tuple[str, int], str]) -> str:
    if form_field is None:
        return _plain(value)
    if form_field.widget == "reference" and isinstance(value, int):
        return refs.get((form_field.reference or "", value), f"#{value}")
    try:
        return show(ui, form_field, value, refs)
    except (ValueError, TypeError, ArithmeticError):
        return _plain(value)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


async def history_panel(request: Request) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    return ui.render("_history.html", **common(ui, entity), record=record, history=_history(ui, entity, record))


# -- create and edit -------------------------------------------------------------------------


async def form_page(request: Request) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    creating = "id" not in request.path_params
    fields = form_fields(ui.view, entity)
    record = None if creating else ui.site.records.get(ui.actor, entity.name, id_of(request))
    if request.method == "GET":
        return _form(ui, entity, fields, record, form_values(record, fields, ui.tzinfo), {}, [])
    form = await request.form()
    check_csrf(request, form)
    data = read_form(fields, form, ui.tzinfo, creating=creating)
    try:
        if creating:
            saved = ui.site.records.create(ui.actor, entity.name, data)
        else:
            saved = ui.site.records.update(ui.actor, entity.name, record["id"], data)  # type: ignore[index]
    except RecordError as exc:
        by_field, other = errors_by_field(exc.details)
        if not exc.details:
            other = [exc.message]
        return _form(ui, entity, fields, record, submitted(fields, form), by_field, other, status_code=exc.status)
    return ui.redirect(f"/r/{entity.name}/{saved['id']}?saved=1")


def submitted(fields: list[FormField], form: Any) -> dict[str, Any]:
    """The values a person typed, to show them again next to the errors."""
    values: dict[str, Any] = {}
    for f in fields:
        if f.widget == "checkbox":
            values[f.key] = f.key in form
        elif f.widget == "multiselect":
            values[f.key] = form.getlist(f.key)
        elif f.widget != "password":
            values[f.key] = form.get(f.key)
    return values


def _form(ui: UI, entity: Any, fields: list[FormField], record: Any, values: dict[str, Any], errors: dict[str, str], other: list[str], status_code: int = 200) -> Response:
    return ui.render(
        templates_for(entity, "form.html"),
        status_code=status_code,
        **common(ui, entity),
        record=record,
        fields=fields,
        values=values,
        errors=errors,
        other_errors=other,
        choices=choices_for(ui, fields),
        refs=reference_labels(ui, fields, [_as_record(fields, values)]),
    )


def _as_record(fields: list[FormField], values: dict[str, Any]) -> dict[str, Any]:
    """Form values shaped like a record (so reference inputs can show the picked record's name)."""
    record: dict[str, Any] = {"custom": {}}
    for f in fields:
        value = values.get(f.key)
        if f.widget == "reference" and isinstance(value, str) and value.isdigit():
            value = int(value)
        (record["custom"] if f.custom else record)[f.name] = value
    return record


# -- delete, bulk delete, actions ------------------------------------------------------------------


async def delete_page(request: Request) -> Response:
    """``GET`` asks for confirmation; ``POST`` deletes."""
    return await _delete(request, [id_of(request)])


async def bulk_delete(request: Request) -> Response:
    form = await request.form()
    ids = sorted({int(v) for v in form.getlist("ids") if isinstance(v, str) and _ID.match(v)})
    return await _delete(request, ids, form=form)


async def _delete(request: Request, ids: list[int], form: Any = None) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    if request.method == "POST":
        form = form if form is not None else await request.form()
        check_csrf(request, form)
        if form.get("confirm") == "yes" and ids:
            with ui.site.write() as conn:
                for record_id in ids:
                    ui.site.records.delete(ui.actor, entity.name, record_id, conn=conn)
            return ui.redirect(f"/r/{entity.name}?deleted={len(ids)}")
    if not ids:
        return ui.redirect(f"/r/{entity.name}")
    records = [ui.site.records.get(ui.actor, entity.name, record_id) for record_id in ids[:200]]
    return ui.render("confirm_delete.html", **common(ui, entity), records=records)


async def action_page(request: Request) -> Response:
    """An entity action: ``GET`` shows its question and body form; ``POST`` runs it."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    action = entity.action(request.path_params["action"])
    if action is None:
        raise NotFound(f"{entity.name} has no action {request.path_params['action']!r}")
    fields = [builtin_body_field(ui, name, info) for name, info in (action.body.model_fields.items() if action.body else [])]
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    other: list[str] = []
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        body = read_form(fields, form, ui.tzinfo, creating=True) if action.body else None
        try:
            ui.site.records.act(ui.actor, entity.name, record["id"], action.name, body)
        except RecordError as exc:
            errors, other = errors_by_field([{**d, "loc": [p for p in d.get("loc", []) if p != "body"]} for d in exc.details])
            other = other or ([] if errors else [exc.message])
            values = submitted(fields, form)
        else:
            return ui.redirect(f"/r/{entity.name}/{record['id']}?done={action.name}")
    return ui.render(
        "action.html", **common(ui, entity), record=record, action=action, fields=fields,
        values=values, errors=errors, other_errors=other, choices={}, refs={},
        status_code=422 if errors or other else 200,
    )


def builtin_body_field(ui: UI, name: str, info: Any) -> FormField:
    return builtin_field(ui.view, _NoEntity, name, info)  # type: ignore[arg-type]


class _NoEntity:
    """Stands in for an entity when an action body's fields are turned into inputs."""

    owner_field = None
    name = ""


async def kanban_page(request: Request) -> Response:
    """A board: one column per choice of the entity's ``stage``/``status`` field; moving a card is an update."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    fields = display_fields(ui.view, entity)
    board = kanban_field(fields)
    if board is None:
        raise NotFound(f"{entity.name} has no stage or status field to group by")
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        target = form.get("id", "")
        if isinstance(target, str) and _ID.match(target):
            try:
                ui.site.records.update(ui.actor, entity.name, int(target), {board.name: form.get(board.name)})
            except RecordError as exc:
                return ui.redirect(f"/r/{entity.name}/kanban?error={exc.status}")
        return ui.redirect(f"/r/{entity.name}/kanban")
    page = ui.site.records.list(ui.actor, entity.name, sort="-updated_at", limit=200)
    columns = {choice: [r for r in page.items if r.get(board.name) == choice] for choice in board.choices}
    return ui.render(
        templates_for(entity, "kanban.html"), **common(ui, entity), board=board, columns=columns,
        total=page.total, shown=len(page.items), failed=request.query_params.get("error"),
    )
