"""The list page and its tools: saved views, bulk assign and export.

* ``POST /r/E/views?QUERY`` saves the list's search, filters and sort (``QUERY``) under a
  name (:mod:`kernel.savedviews`); ``/r/E/views/ID/delete`` asks, then deletes one.
* ``POST /r/E/bulk-assign`` shows the chosen records and their new owner; with
  ``confirm=yes`` it gives them all to that user in one transaction through
  ``site.records.assign`` (with the reason typed, if any), or changes nothing and
  says which record was refused and why.
* ``POST /r/E/export?QUERY`` downloads the selected records, or every record the list
  matches, as CSV or XLSX (:mod:`kernel.exporting`) for people to read (labels, names, local times in
  the user's language and zone), or with "Raw codes" ticked as field names, codes, ids and UTC.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ... import exporting, permissions, savedviews
from ...parsing import optional_id, optional_int
from ...errors import Conflict, Forbidden, NotFound, RecordError, ValidationError
from ...fielddescriptions import N_, FormField, display_fields
from .context import UI, ui_for
from .display import reference_labels, title_column
from .entitypage import common, entity_of, kanban_field, templates_for
from .listing import PAGE_SIZES, ListRequest, chosen_columns, column_choices, filterable, page_numbers, sortable
from .recordpage import quick_create_field
from .session import check_csrf

MAX_SELECTED = 200
MAX_OWNERS = 500

#: :mod:`kernel.savedviews`' messages, for the catalog (they are shown translated).
SAVED_VIEW_MESSAGES = (
    N_("Give the view a name."),
    N_("A view name has at most 80 characters."),
    N_("A view with this name already exists."),
    N_("These filters are too long to save as a view."),
)


def selected_ids(form: Any) -> list[int]:
    """The record ids ticked in a list's bulk form (at most :data:`MAX_SELECTED`)."""
    found = {found for v in form.getlist("ids") if (found := optional_id(v)) is not None}
    return sorted(found)[:MAX_SELECTED]


def _back(entity: Any, wanted: ListRequest) -> str:
    query = wanted.query()
    return f"/r/{entity.name}" + (f"?{query}" if query else "")


# -- the list page ------------------------------------------------------------------------


async def list_page(request: Request, status_code: int = 200, **tool_state: Any) -> Response:
    """The list; ``tool_state`` is what :func:`list_tools` needs to show a refused form again."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    fields = display_fields(ui.view, entity)
    wanted = ListRequest.parse(request.query_params)
    error = None
    try:
        page = ui.site.records.list(
            ui.actor, entity.name, filters=wanted.record_filters(fields, ui.tzinfo), sort=wanted.sort or None,
            q=wanted.q or None, limit=wanted.size, offset=wanted.offset,
        )
    except ValidationError as exc:
        exc = ui.explain(exc, entity.name)
        error = exc.details[0]["msg"] if exc.details else exc.message
        page = ui.site.records.list(ui.actor, entity.name, limit=wanted.size)
    own_columns = [] if wanted.columns else savedviews.default_columns(ui.site, ui.actor, entity.name)
    columns = chosen_columns(entity, fields, title_column(entity), wanted.columns or own_columns)
    refs = reference_labels(ui, columns, page.items)
    filters = filterable(fields)
    pages = max(1, math.ceil(page.total / wanted.size))
    return ui.render(
        templates_for(entity, "list.html"),
        status_code=status_code,
        **common(ui, entity),
        **list_tools(ui, entity, wanted, **tool_state),
        page=page,
        columns=columns,
        column_choices=column_choices(fields),
        page_sizes=PAGE_SIZES,
        filters=filters,
        filter_refs=filter_labels(ui, filters, wanted),
        wanted=wanted,
        refs=refs,
        error=error,
        sortable=sortable,
        pages=pages,
        page_numbers=page_numbers(wanted.page, max(pages, wanted.page), page.total_exact),
        title_column=title_column(entity),
        kanban_field=kanban_field(fields),
        quick_create=quick_create_field(ui, entity),
        own_columns=own_columns,
    )


def filter_labels(ui: UI, filters: list[FormField], wanted: ListRequest) -> dict[tuple[str, int], str]:
    """The names of the records the reference filters hold (``f.owner_id=7`` shows 7's name)."""
    record: dict[str, Any] = {"custom": {}}
    for f in filters:
        if f.widget == "reference" and (found := optional_id(wanted.filters.get(f.key))) is not None:
            (record["custom"] if f.custom else record)[f.name] = found
    return reference_labels(ui, [f for f in filters if f.widget == "reference"], [record])


def list_tools(ui: UI, entity: Any, wanted: ListRequest, *, view_name: str = "", view_shared: bool = False, view_error: str = "") -> dict[str, Any]:
    """The list template's saved views, bulk-assign choices and notices."""
    views = savedviews.list_views(ui.site, ui.actor, entity.name)
    current = wanted.view_query
    return {
        "saved_views": views,
        "current_query": current,
        "current_view": next((v for v in views if v["query"] == current), None),
        "view_form": {"name": view_name, "shared": view_shared, "error": view_error},
        "assign_choices": owner_choices(ui, entity) if can_assign(ui, entity) else [],
        "assigned": _assigned_notice(ui, entity),
    }


def can_assign(ui: UI, entity: Any) -> bool:
    """Bulk assign is offered on owned entities to users who may assign their records."""
    return bool(entity.owner_field) and permissions.allowed(ui.site, ui.actor, entity.name, "assign")


def owner_choices(ui: UI, entity: Any) -> list[tuple[int, str]]:
    """``(id, name)`` of each active user, as the actor may list them; only the actor when they cannot."""
    try:
        users = ui.site.records.list(ui.actor, "users", filters={"active": True}, sort="name,email", limit=MAX_OWNERS).items
    except RecordError:
        users = []
    choices = [(u["id"], _user_name(u)) for u in users]
    if not any(user_id == ui.actor.user_id for user_id, _ in choices) and ui.user is not None and ui.user.active:
        choices.insert(0, (ui.user.id, ui.user.name or ui.user.email))
    return choices


def _user_name(user: dict[str, Any]) -> str:
    return f"{user['name']} ({user['email']})" if user.get("name") else str(user["email"])


def _assigned_notice(ui: UI, entity: Any) -> str:
    params = ui.request.query_params
    count, owner = optional_int(params.get("assigned"), low=0, high=MAX_SELECTED), optional_id(params.get("to"))
    if count is None or owner is None:
        return ""
    owner_field = _owner_form_field(ui, entity)
    labels = reference_labels(ui, [owner_field], [{owner_field.name: owner}]) if owner_field else {}
    name = labels.get((owner_field.reference or "", owner), f"#{owner}") if owner_field else f"#{owner}"
    return ui.ngettext("Assigned %(num)s record to %(name)s.", "Assigned %(num)s records to %(name)s.", count, name=name)


def _owner_form_field(ui: UI, entity: Any) -> FormField | None:
    return next((f for f in display_fields(ui.view, entity) if f.name == entity.owner_field and not f.custom), None)


# -- saved views ---------------------------------------------------------------------------


async def save_view(request: Request) -> Response:
    """Save the list's query (this request's query string) under the posted name."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    form = await request.form()
    check_csrf(request, form)
    wanted = ListRequest.parse(request.query_params)
    name = form.get("name")
    shared = form.get("shared") in ("1", "on", "true")
    try:
        savedviews.save_view(ui.site, ui.actor, entity.name, name, wanted.view_query, shared=shared)
    except (ValidationError, Conflict) as exc:
        exc = ui.explain(exc, entity.name)
        message = exc.details[0]["msg"] if exc.details else exc.message
        return await list_page(
            request, status_code=exc.status, view_name=name if isinstance(name, str) else "", view_shared=shared,
            view_error=ui.gettext(message),
        )
    query = wanted.view_query
    return ui.redirect(f"/r/{entity.name}?" + "&".join(part for part in (query, "view_saved=1") if part))


async def save_columns(request: Request) -> Response:
    """The column chooser's *Apply*: keep the ticked columns as the user's own for this list (``reset``:
    back to the entity's defaults), then show the list (its query string kept, without ``cols``)."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    form = await request.form()
    check_csrf(request, form)
    wanted = ListRequest.parse(request.query_params)
    chosen = [] if form.get("reset") else [c for c in form.getlist("cols") if isinstance(c, str)]
    try:
        savedviews.save_default_columns(ui.site, ui.actor, entity.name, chosen)
    except ValidationError as exc:
        return await list_page(request, status_code=exc.status)
    query = wanted.query(cols=None, page=None)
    return ui.redirect(f"/r/{entity.name}" + (f"?{query}" if query else ""))


async def delete_view(request: Request) -> Response:
    """``GET`` asks; ``POST`` deletes the view (its owner's, or an admin's for a shared one)."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    text = request.path_params["view_id"]
    view_id = optional_id(text)
    if view_id is None:
        raise NotFound(f"no saved view {text!r}")
    view = savedviews.get_view(ui.site, ui.actor, view_id)
    if view["entity"] != entity.name:
        raise NotFound(f"no saved view {text!r} for {entity.name}")
    if not view["deletable"]:
        raise Forbidden("only its owner or an administrator may delete a shared view")
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        savedviews.delete_view(ui.site, ui.actor, view["id"])
        return ui.redirect(f"/r/{entity.name}?view_deleted=1")
    return ui.render("confirm_view_delete.html", **common(ui, entity), view=view)


# -- bulk assign ---------------------------------------------------------------------------


async def bulk_assign(request: Request) -> Response:
    """Confirm, then give the selected records to one user, all or nothing."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    form = await request.form()
    check_csrf(request, form)
    if not can_assign(ui, entity):
        raise Forbidden(f"you may not assign {entity.name}")
    wanted = ListRequest.parse(request.query_params)
    ids = selected_ids(form)
    if not ids:
        return ui.redirect(_back(entity, wanted))
    choices = owner_choices(ui, entity)
    owner_text = form.get("owner_id")
    owner = optional_id(owner_text)
    error = "" if owner in dict(choices) else ui.gettext("Choose an active user to give the records to.")
    reason = form.get("reason")
    reason = reason.strip()[:500] if isinstance(reason, str) else ""
    if form.get("confirm") == "yes" and not error:
        error = _assign(ui, entity, ids, owner, reason)  # type: ignore[arg-type]
        if not error:
            return ui.redirect(f"/r/{entity.name}?assigned={len(ids)}&to={owner}")
    shown = _visible(ui, entity, ids)
    owner_field = _owner_form_field(ui, entity)
    return ui.render(
        "confirm_assign.html",
        status_code=422 if error else 200,
        **common(ui, entity),
        records=shown,
        owner_field=owner_field,
        refs=reference_labels(ui, [owner_field], shown) if owner_field else {},
        choices=choices,
        owner=owner,
        reason=reason,
        error=error,
        back=_back(entity, wanted),
        back_query=wanted.query(),
    )


def _assign(ui: UI, entity: Any, ids: list[int], owner: int, reason: str) -> str:
    """Give every record to ``owner`` in one transaction; the refusal as a sentence, or ``""``."""
    try:
        ui.site.records.assign(ui.actor, entity.name, ids, owner, reason or None)
    except RecordError as exc:
        exc = ui.explain(exc, entity.name)
        at = next((d["loc"][1] for d in exc.details if d.get("loc", [])[:1] == ["ids"] and len(d["loc"]) > 1), 0)
        current = ids[at]
        reason_text = exc.message.removeprefix(f"record {current}: ")
        reason_text = ui.gettext("it does not exist, or you may not see it") if exc.status == 404 else reason_text
        return ui.gettext("Nothing was changed: record #%(id)s could not be assigned: %(reason)s", id=current, reason=reason_text)
    return ""


def _visible(ui: UI, entity: Any, ids: list[int]) -> list[dict[str, Any]]:
    """The records among ``ids`` the actor may see, in id order."""
    query = ui.site.records.list_query(ui.actor, entity.name, sort="id", limit=MAX_SELECTED).where(entity.table.c.id.in_(ids))
    with ui.site.engine.connect() as conn:
        return [{name: row._mapping[name] for name in entity.columns} for row in conn.execute(query)]


# -- export --------------------------------------------------------------------------------


async def export(request: Request) -> Response:
    """Download the selected records, or all the list matches, as CSV or XLSX."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    form = await request.form()
    check_csrf(request, form)
    wanted = ListRequest.parse(request.query_params)
    fmt = form.get("format")
    fmt = fmt if isinstance(fmt, str) and fmt in exporting.FORMATS else "csv"
    ids = selected_ids(form) or None
    started = exporting.export_records(
        ui.site, ui.actor, entity.name, fmt,
        filters=wanted.record_filters(display_fields(ui.view, entity), ui.tzinfo), q=wanted.q or None,
        sort=wanted.sort or None, ids=ids, raw=form.get("raw") == "1", locale=ui.locale, tz=ui.tzinfo,
    )
    disposition = f'attachment; filename="{started.filename}"'
    return StreamingResponse(started.chunks(), media_type=started.media_type, headers={"Content-Disposition": disposition})
