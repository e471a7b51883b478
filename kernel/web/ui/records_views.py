"""Generic pages for every enabled record: detail, create, edit, delete, actions, board.

The list page and its tools are in :mod:`.list_views`; what both share in :mod:`.entitypage`.

Every write goes through ``site.records`` with an actor on the ``ui`` channel;
a refused write comes back as a :class:`~kernel.errors.RecordError` whose details
are shown next to their fields. A template can be overridden for one entity
(``notes/list.html``) or for all (``list.html``) by a plugin's template directory.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import formlayout, phones, versions
from ...errors import NotFound, RecordError, ValidationError
from ...masking import MASKED
from ...versions import EditConflict
from ...fielddescriptions import FormField, builtin_field, display_fields, form_fields
from ...parsing import optional_id, parse_id
from . import childrows, duplicates, files_views, kanban, recordpage, related, timeline
from .context import UI, ui_for
from .display import record_title, reference_labels, title_column
from .entitypage import allowed, choices_for, common, entity_of, id_of, kanban_field, templates_for
from .forms import errors_by_field, form_values, read_form
from .session import check_csrf

# -- lookup ----------------------------------------------------------------------------


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


async def duplicates_panel(request: Request) -> Response:
    """Look-alikes of a record being typed: ``GET /r/E/duplicates?name=…&phone=…`` (the create form asks, htmx)."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    fields = formlayout.input_fields(form_fields(ui.view, entity))
    return ui.render("_possible_duplicates.html", entity=entity, **duplicates.while_typing(ui, entity, fields, request.query_params))


# -- detail ------------------------------------------------------------------------------


TABS = ("details", "activity", "history", "files")


async def detail_page(request: Request) -> Response:
    """Details (with related records and duplicate warnings), Activity and History, one tab at a time."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    return render_detail(ui, entity, ui.site.records.get(ui.actor, entity.name, id_of(request)))


def render_detail(ui: UI, entity: Any, record: dict[str, Any], status_code: int = 200, inline_error: dict[str, Any] | None = None) -> Response:
    """The record's page as ``ui.request`` asks for it (``inline_error``: a refused inline change)."""
    request = ui.request
    fields = display_fields(ui.view, entity)
    tab = request.query_params.get("tab", "details")
    cards = related.related_cards(ui, entity, record) if tab == "details" or tab not in TABS else []
    tabs = related.related_tabs(ui, entity, record, cards)
    if tab not in TABS and not any(t["key"] == tab for t in tabs):
        tab = "details"
    cards = cards if tab == "details" else []
    offset = timeline.parse_offset(request.query_params.get("offset"))
    writable = not entity.parents or ui.site.records.writable(ui.actor, entity.name, record["id"])  # not when read through its parent
    refs = reference_labels(ui, fields, [record])
    editable = recordpage.inline_fields(ui, entity, writable)
    return ui.render(
        templates_for(entity, "detail.html"),
        status_code=status_code,
        **common(ui, entity),
        record=record,
        built_in=[f for f in fields if not f.custom],
        custom=[f for f in fields if f.custom],
        refs=refs,
        tab=tab,
        history=timeline.history(ui, entity, record) if tab == "history" else [],
        activity=timeline.activity_page(ui, entity, record, offset) if tab == "activity" else None,
        **(files_views.files_context(ui, entity, record) if tab == "files" else {}),
        items_only=False,
        related=cards,
        related_tabs=tabs,
        tab_card=related.tab_card(ui, entity, record, tab) if tab.startswith("related-") else None,
        duplicates=duplicates.visible_duplicates(ui, entity, record, request.query_params.get("duplicates")),
        hidden_duplicates=duplicates.hidden_count(request.query_params.get("hidden")),
        actions=[a for a in entity.actions if a.button and allowed(ui, entity.name, a.name)] if writable else [],
        writable=writable,
        child_sets=childrows.shown_sets(ui, entity, record) if tab == "details" else [],
        summary=recordpage.summary(ui, entity, record, fields, refs),
        log_forms=recordpage.log_forms(ui, entity, record) if writable or not entity.parents else [],
        inline=editable,
        inline_values=recordpage.inline_values(ui, entity, record, editable),
        inline_error=inline_error,
        version=versions.etag(entity, record),
        added=recordpage.added_notice(ui, request.query_params),
    )


async def history_panel(request: Request) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    return ui.render("_history.html", **common(ui, entity), record=record, history=timeline.history(ui, entity, record))


async def activity_panel(request: Request) -> Response:
    """The Activity tab for htmx: ``?offset=N`` pages; ``&part=items`` answers only the entries (for "Load more")."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    offset = timeline.parse_offset(request.query_params.get("offset"))
    return ui.render(
        "_activity.html", **common(ui, entity), record=record,
        activity=timeline.activity_page(ui, entity, record, offset), items_only=request.query_params.get("part") == "items",
    )


# -- create and edit -------------------------------------------------------------------------


async def form_page(request: Request) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    creating = "id" not in request.path_params
    fields = formlayout.input_fields(form_fields(ui.view, entity), request.query_params if creating else None)
    if not creating:  # the owner changes hands through assign, never through an edit
        fields = [f for f in fields if f.custom or f.name != entity.owner_field]
    record = None if creating else ui.site.records.get(ui.actor, entity.name, id_of(request))
    if record is not None and record.get(MASKED):  # what one may not see, one may not overwrite (kernel.masking)
        fields = [f for f in fields if f.name not in record[MASKED]]
    if request.method == "GET":
        values = form_values(record, fields, ui.tzinfo, phones.region_of(ui.site))
        if creating:  # ?owner_id=7 pre-fills a field (the "New" link of a related card)
            values = related.prefilled(fields, request.query_params, values)
        return _form(ui, entity, fields, record, values, {}, [], rows=childrows.row_sets(ui, entity, record), back=recordpage.back_target(request.query_params.get("_back")))
    form = await request.form()
    check_csrf(request, form)
    data = read_form(fields, form, ui.tzinfo, creating=creating)
    data.update(childrows.read_rows(ui, entity, form, creating=creating))
    warnings: list[dict[str, Any]] = []
    try:
        if creating:
            saved = ui.site.records.create(ui.actor, entity.name, data, on_duplicate="warn")
            warnings = saved.pop("warnings", [])
        else:
            saved = ui.site.records.update(ui.actor, entity.name, record["id"], data, if_match=form.get("_version") or None)  # type: ignore[index]
    except EditConflict as exc:  # someone saved since this form was opened: keep what was typed, say so
        return _form(
            ui, entity, fields, exc.record, submitted(fields, form), {}, [], status_code=exc.status, conflict=True
        )
    except RecordError as exc:
        exc = ui.explain(exc, entity.name)
        by_field, other = errors_by_field(exc.details)
        if not exc.details:
            other = [exc.message]
        kept = form.get("_version")  # the version the person started from, not the one read for this request
        rows = childrows.row_sets(ui, entity, record, form, exc.details)
        return _form(
            ui, entity, fields, record, submitted(fields, form), by_field, other, status_code=exc.status,
            version=kept if isinstance(kept, str) else None, rows=rows, back=recordpage.back_target(form.get("_back")),
        )
    if creating:  # back to the page it was added from (the customer of a new contact), if any
        return ui.redirect(recordpage.landing(recordpage.back_target(form.get("_back")), saved["id"], entity, duplicates.warning_params(warnings)))
    return ui.redirect(f"/r/{entity.name}/{saved['id']}?saved=1{duplicates.warning_params(warnings)}")


def submitted(fields: list[FormField], form: Any) -> dict[str, Any]:
    """The values a person typed, to show them again next to the errors."""
    values: dict[str, Any] = {}
    for f in fields:
        if f.widget == "checkbox":
            values[f.key] = f.key in form
        elif f.widget == "multiselect":
            values[f.key] = form.getlist(f.key)
        elif f.widget == "list" and f.reference:
            values[f.key] = [i for v in form.getlist(f.key) if (i := optional_id(v)) is not None]
        elif f.widget != "password":
            values[f.key] = form.get(f.key)
    return values


def _form(
    ui: UI, entity: Any, fields: list[FormField], record: Any, values: dict[str, Any], errors: dict[str, str], other: list[str],
    status_code: int = 200, conflict: bool = False, version: str | None = None, rows: list[childrows.RowSet] | None = None,
    back: str | None = None,
) -> Response:
    """The create or edit form; an edit carries the record's version (``_version``), so that a save
    over someone else's newer change is refused (``conflict``: shown again, saving again overwrites)."""
    return ui.render(
        templates_for(entity, "form.html"),
        status_code=status_code,
        **common(ui, entity),
        record=record,
        version=version or (versions.etag(entity, record) if record is not None else None),
        conflict=conflict,
        fields=fields,
        sections=formlayout.sections(entity, fields),
        check_duplicates=bool(ui.view.pm.hook.find_duplicates.get_hookimpls()),
        values=values,
        errors=errors,
        other_errors=other,
        choices=choices_for(ui, fields),
        refs=reference_labels(ui, fields, [_as_record(fields, values)]),
        row_sets=rows or [],
        back=back,
    )


def _as_record(fields: list[FormField], values: dict[str, Any]) -> dict[str, Any]:
    """Form values shaped like a record (so reference inputs can show the picked record's name)."""
    record: dict[str, Any] = {"custom": {}}
    for f in fields:
        value = values.get(f.key)
        if f.widget == "reference" and isinstance(value, str) and optional_id(value) is not None:
            value = optional_id(value)
        elif f.widget == "list" and f.reference and isinstance(value, str):
            value = [i for part in value.split(",") if (i := optional_id(part.strip())) is not None]
        (record["custom"] if f.custom else record)[f.name] = value
    return record


# -- delete, bulk delete, actions ------------------------------------------------------------------


async def delete_page(request: Request) -> Response:
    """``GET`` asks for confirmation; ``POST`` deletes."""
    return await _delete(request, [id_of(request)])


async def bulk_delete(request: Request) -> Response:
    form = await request.form()
    ids = sorted({found for v in form.getlist("ids") if (found := optional_id(v)) is not None})
    return await _delete(request, ids, form=form)


async def _delete(request: Request, ids: list[int], form: Any = None) -> Response:
    ui = ui_for(request)
    entity = entity_of(ui, request)
    if request.method == "POST":
        form = form if form is not None else await request.form()
        check_csrf(request, form)
        if form.get("confirm") == "yes" and ids:
            if len(ids) == 1:  # the single delete's refusals (a record visible through its parent: 403)
                ui.site.records.delete(ui.actor, entity.name, ids[0])
            else:
                ui.site.records.delete_many(ui.actor, entity.name, ids=ids)
            return ui.redirect(f"/r/{entity.name}?deleted={len(ids)}")
    if not ids:
        return ui.redirect(f"/r/{entity.name}")
    records = [ui.site.records.get(ui.actor, entity.name, record_id) for record_id in ids[:200]]
    return ui.render("confirm_delete.html", **common(ui, entity), records=records, trash_days=ui.site.settings.trash_days)


async def action_page(request: Request) -> Response:
    """An entity action: ``GET`` shows its question and body form; ``POST`` runs it."""
    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    action = entity.action(request.path_params["action"])
    if action is None:
        raise NotFound(f"{entity.name} has no action {request.path_params['action']!r}")
    if action.page and request.method == "GET":
        query = request.url.query
        return ui.redirect(action.page.format(id=record["id"]) + (f"?{query}" if query else ""))
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
            exc = ui.explain(exc, entity.name)
            errors, other = errors_by_field([{**d, "loc": [p for p in d.get("loc", []) if p != "body"]} for d in exc.details])
            other = other or ([] if errors else [exc.message])
            values = submitted(fields, form)
        else:
            return ui.redirect(f"/r/{entity.name}/{record['id']}?done={action.name}")
    return ui.render(
        templates_for(entity, "action.html"), **common(ui, entity), record=record, action=action, fields=fields,
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
    """A board: one column per choice of the entity's ``stage``/``status`` field; moving a card is an update.

    The move is a form post (select + Move) answered with a redirect; a script's post
    (``Accept: application/json`` or ``HX-Request``, sent by ``kanban.js`` on a drop) is
    answered with JSON instead: 200 ``{"id", "field", "value", "message"}``, or the
    refusal's status with ``{"error": {...}, "message"}`` so the card can go back.
    """
    ui = ui_for(request)
    entity = entity_of(ui, request)
    fields = display_fields(ui.view, entity)
    board = kanban_field(fields)
    if board is None:
        raise NotFound(f"{entity.name} has no stage or status field to group by")
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        scripted = kanban.wants_json(request)
        target = form.get("id", "")
        try:
            target_id = parse_id(target, ["body", "id"])
            column = form.get(board.name)
            if column not in board.choices:  # a column of this board, whatever the field's own checks
                raise ValidationError.at(["body", board.name], f"must be one of {', '.join(board.choices)}")
            extra = kanban.answers(form_fields(ui.view, entity), form, ui.tzinfo, skip=board.key)  # a dialog's answers
            moved = ui.site.records.update(ui.actor, entity.name, target_id, {**extra, board.name: column})
        except RecordError as exc:
            exc = ui.explain(exc, entity.name)
            if scripted:
                return kanban.refused(ui, exc, kanban.asked(ui, [f for f in form_fields(ui.view, entity) if f.key != board.key], exc))  # a wrong column is no question
            return ui.redirect(f"/r/{entity.name}/kanban?error={exc.status}")
        if scripted:
            totals = kanban.column_totals(ui, entity, board, fields) if kanban.total_field(entity, fields) else None
            return kanban.moved(ui, entity, board, moved, totals)
        return ui.redirect(f"/r/{entity.name}/kanban")
    page = ui.site.records.list(ui.actor, entity.name, sort="-updated_at", limit=200)
    columns = {choice: [r for r in page.items if r.get(board.name) == choice] for choice in board.choices}
    on_cards = kanban.card_fields(entity, fields)
    return ui.render(
        templates_for(entity, "kanban.html"), **common(ui, entity), board=board, columns=columns,
        total=page.total, shown=len(page.items), failed=request.query_params.get("error"),
        card_fields=on_cards, card_refs=reference_labels(ui, on_cards, page.items),
        total_field=kanban.total_field(entity, fields), column_totals=kanban.column_totals(ui, entity, board, fields),
    )
